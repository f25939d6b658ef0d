// SPDX-License-Identifier: MIT
/*
 * Sockets for the container tests (tests/containers.rs), where the test's
 * machine (a kernel guest of ci/kernels) may have no python3:
 *
 *   sockets bind-udp        binds a UDP socket to 127.0.0.1, any port
 *   sockets accept PORT     listens on 127.0.0.1:PORT, prints "ready",
 *                           accepts one connection, exits
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct sockaddr_in a;
	int one = 1, s;

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (argc == 2 && !strcmp(argv[1], "bind-udp")) {
		s = socket(AF_INET, SOCK_DGRAM, 0);
		if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof(a))) {
			perror("bind-udp");
			return 1;
		}
		return 0;
	}
	if (argc == 3 && !strcmp(argv[1], "accept")) {
		a.sin_port = htons(atoi(argv[2]));
		s = socket(AF_INET, SOCK_STREAM, 0);
		if (s < 0 || setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
		    bind(s, (struct sockaddr *)&a, sizeof(a)) || listen(s, 1)) {
			perror("accept");
			return 1;
		}
		printf("ready\n");
		fflush(stdout);
		return accept(s, NULL, NULL) < 0;
	}
	fprintf(stderr, "usage: sockets bind-udp | accept PORT\n");
	return 2;
}
