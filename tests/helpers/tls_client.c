/* ebq-build: -O1 -l:libssl.so.3 */
/*
 * ssl_events' client of OpenSSL's _ex calls (tests/func_tables.rs), which
 * openssl(1) does not make: SSL_write_ex and SSL_read_ex, whose length is
 * in a size_t the fourth argument points to. Linked with libssl.so.3 by
 * its file name: no -dev package, no header (the prototypes are
 * OpenSSL 3's, include/openssl/ssl.h).
 *
 *   tls_client PORT MARK   connects to 127.0.0.1:PORT (retrying for 5 s),
 *                          SSL_write_ex("hello MARK\n"), SSL_write_ex(10000
 *                          bytes of 'y'), then SSL_read_ex until a line ends
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

typedef struct ssl_st SSL;
typedef struct ssl_ctx_st SSL_CTX;
typedef struct ssl_method_st SSL_METHOD;
const SSL_METHOD *TLS_client_method(void);
SSL_CTX *SSL_CTX_new(const SSL_METHOD *method);
SSL *SSL_new(SSL_CTX *ctx);
int SSL_set_fd(SSL *s, int fd);
int SSL_connect(SSL *s);
int SSL_write_ex(SSL *s, const void *buf, size_t num, size_t *written);
int SSL_read_ex(SSL *s, void *buf, size_t num, size_t *readbytes);
int SSL_shutdown(SSL *s);

static char big[10000];

int main(int argc, char **argv)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	struct timespec t = { 0, 50 * 1000000L };
	char line[256], in[512];
	size_t n, got = 0;
	int fd = -1;

	if (argc < 3)
		return 2;
	a.sin_port = htons((unsigned short)atoi(argv[1]));
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	for (int i = 0; i < 100; i++) {
		fd = socket(AF_INET, SOCK_STREAM, 0);
		if (!connect(fd, (struct sockaddr *)&a, sizeof(a)))
			break;
		close(fd);
		fd = -1;
		nanosleep(&t, NULL);
	}
	if (fd < 0)
		return 3;
	SSL *s = SSL_new(SSL_CTX_new(TLS_client_method()));
	if (!s || !SSL_set_fd(s, fd) || SSL_connect(s) != 1)
		return 4;
	snprintf(line, sizeof(line), "hello %s\n", argv[2]);
	if (!SSL_write_ex(s, line, strlen(line), &n) || n != strlen(line))
		return 5;
	memset(big, 'y', sizeof(big));
	if (!SSL_write_ex(s, big, sizeof(big), &n) || n != sizeof(big))
		return 6;
	while (got < sizeof(in) - 1 && SSL_read_ex(s, in + got, sizeof(in) - 1 - got, &n)) {
		got += n;
		if (memchr(in, '\n', got))
			break;
	}
	SSL_shutdown(s);
	return got ? 0 : 7;
}
