/* ebq-build: -O0 -l:libpam.so.0 */
/*
 * user_events' fixture (tests/functions.rs): one PAM transaction, as a
 * login program makes it. Linux-PAM's API is declared here (as
 * security/pam_appl.h does), so no -dev package is needed: libpam.so.0 is
 * on every system that has PAM.
 *
 *   pam SERVICE USER RHOST TTY   pam_start, PAM_RHOST and PAM_TTY set,
 *                                pam_authenticate; when it succeeds,
 *                                pam_acct_mgmt, pam_open_session and
 *                                pam_close_session; pam_end. Exits 0 when
 *                                authenticated, 1 otherwise. A module's
 *                                password prompt is answered with
 *                                $PAM_TEST_PASSWORD (pam_unix's).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct pam_handle pam_handle_t;
struct pam_message {
	int msg_style;
	const char *msg;
};
struct pam_response {
	char *resp;
	int resp_retcode;
};
#define PAM_PROMPT_ECHO_OFF 1
struct pam_conv {
	int (*conv)(int, const struct pam_message **, struct pam_response **, void *);
	void *appdata_ptr;
};
#define PAM_TTY 3
#define PAM_RHOST 4
int pam_start(const char *, const char *, const struct pam_conv *, pam_handle_t **);
int pam_set_item(pam_handle_t *, int, const void *);
int pam_authenticate(pam_handle_t *, int);
int pam_acct_mgmt(pam_handle_t *, int);
int pam_open_session(pam_handle_t *, int);
int pam_close_session(pam_handle_t *, int);
int pam_end(pam_handle_t *, int);

/* A password prompt gets $PAM_TEST_PASSWORD; anything else, no answer. */
static int answer(int n, const struct pam_message **m, struct pam_response **r, void *d)
{
	const char *password = getenv("PAM_TEST_PASSWORD");
	struct pam_response *out;

	(void)d;
	*r = NULL;
	if (!password || n <= 0)
		return 19; /* PAM_CONV_ERR */
	out = calloc((size_t)n, sizeof(*out));
	if (!out)
		return 19;
	for (int i = 0; i < n; i++) {
		if (m[i]->msg_style != PAM_PROMPT_ECHO_OFF) {
			free(out);
			return 19;
		}
		/* Freed by libpam. */
		out[i].resp = strdup(password);
	}
	*r = out;
	return 0;
}

int main(int argc, char **argv)
{
	struct pam_conv conv = { answer, NULL };
	pam_handle_t *h = NULL;
	int r;

	if (argc != 5) {
		fprintf(stderr, "usage: pam SERVICE USER RHOST TTY\n");
		return 2;
	}
	if (pam_start(argv[1], argv[2], &conv, &h) != 0)
		return 3;
	pam_set_item(h, PAM_RHOST, argv[3]);
	pam_set_item(h, PAM_TTY, argv[4]);
	r = pam_authenticate(h, 0);
	if (r == 0) {
		pam_acct_mgmt(h, 0);
		pam_open_session(h, 0);
		pam_close_session(h, 0);
	}
	pam_end(h, r);
	return r == 0 ? 0 : 1;
}
