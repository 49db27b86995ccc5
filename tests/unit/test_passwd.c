/*
 * test_passwd.c - scrypt hashes (round trip, salt, malformed encodings,
 * parameters taken from the encoding), the length policy, and password
 * files (environment first, permission check, atomic 0600 store).
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sys/stat.h>

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "err.h"
#include "passwd.h"
#include "util.h"

#define ENV_PW	"COFFER_TEST_PASSWORD"

struct fixture {
	char	dir[64];
};

static int
setup(void **state)
{
	struct fixture *fx;

	if ((fx = calloc(1, sizeof(*fx))) == NULL)
		return -1;
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/coffer-test-passwd.XXXXXX");
	if (mkdtemp(fx->dir) == NULL) {
		free(fx);
		return -1;
	}
	unsetenv(ENV_PW);
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *fx = *state;

	unsetenv(ENV_PW);
	util_rm_rf(fx->dir);
	free(fx);
	return 0;
}

static void
join(char *out, const struct fixture *fx, const char *name)
{
	snprintf(out, PATH_MAX, "%s/%s", fx->dir, name);
}

static void
write_file(const char *path, const char *text, mode_t mode)
{
	int fd;

	/* Start afresh: an earlier call may have left it read-only. */
	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, mode);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	/* open() applied the umask; set the mode we mean exactly. */
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

static void
passwd_hash_then_verify_succeeds(void **state)
{
	char enc[PASSWD_HASH_MAX];
	struct err e;

	(void)state;
	err_clear(&e);
	assert_int_equal(passwd_hash("correct horse", enc, sizeof(enc), &e),
	    0);
	assert_true(strncmp(enc, "scrypt$14$8$1$", 14) == 0);
	/* Prefix, 32 salt and 64 key hex digits, one '$' between them. */
	assert_int_equal(strlen(enc), 14 + 32 + 1 + 64);
	assert_int_equal(passwd_verify("correct horse", enc, &e), 0);
}

static void
passwd_wrong_password_is_eauth(void **state)
{
	char enc[PASSWD_HASH_MAX];
	struct err e;

	(void)state;
	err_clear(&e);
	assert_int_equal(passwd_hash("correct horse", enc, sizeof(enc), &e),
	    0);
	assert_int_equal(passwd_verify("correct horsf", enc, &e),
	    COFFER_EAUTH);
	assert_non_null(strstr(e.msg, "does not match"));
	assert_int_equal(passwd_verify("", enc, &e), COFFER_EAUTH);
}

static void
passwd_same_password_hashes_differ(void **state)
{
	char a[PASSWD_HASH_MAX], b[PASSWD_HASH_MAX];
	struct err e;

	(void)state;
	assert_int_equal(passwd_hash("same password", a, sizeof(a), &e), 0);
	assert_int_equal(passwd_hash("same password", b, sizeof(b), &e), 0);
	assert_string_not_equal(a, b);
	/* The salts differ, not only the keys. */
	assert_memory_not_equal(a + 14, b + 14, 32);
}

static void
passwd_small_buffer_is_einval(void **state)
{
	char enc[PASSWD_HASH_MAX - 1];
	struct err e;

	(void)state;
	err_clear(&e);
	assert_int_equal(passwd_hash("whatever1", enc, sizeof(enc), &e),
	    COFFER_EINVAL);
	assert_non_null(strstr(e.msg, "buffer"));
}

#define SALT32	"00112233445566778899aabbccddeeff"
#define KEY64	"00112233445566778899aabbccddeeff" \
		"00112233445566778899aabbccddeeff"

static void
passwd_malformed_encodings_are_ecorrupt(void **state)
{
	static const char *const bad[] = {
		"",
		"bcrypt$14$8$1$" SALT32 "$" KEY64,		/* scheme */
		"SCRYPT$14$8$1$" SALT32 "$" KEY64,
		"scrypt$14$8$" SALT32 "$" KEY64,		/* no p */
		"scrypt$$8$1$" SALT32 "$" KEY64,
		"scrypt$014$8$1$" SALT32 "$" KEY64,		/* leading 0 */
		"scrypt$-1$8$1$" SALT32 "$" KEY64,
		"scrypt$1000$8$1$" SALT32 "$" KEY64,		/* 4 digits */
		"scrypt$0$8$1$" SALT32 "$" KEY64,		/* N = 1 */
		"scrypt$21$8$1$" SALT32 "$" KEY64,		/* huge N */
		"scrypt$99$8$1$" SALT32 "$" KEY64,
		"scrypt$14$0$1$" SALT32 "$" KEY64,
		"scrypt$14$33$1$" SALT32 "$" KEY64,		/* r > 32 */
		"scrypt$14$8$17$" SALT32 "$" KEY64,		/* p > 16 */
		"scrypt$20$32$1$" SALT32 "$" KEY64,		/* 4 GiB */
		"scrypt$14$8$1$" "0011zz33445566778899aabbccddeeff" "$" KEY64,
		"scrypt$14$8$1$" "0011" "$" KEY64,		/* short salt */
		"scrypt$14$8$1$" SALT32 "00" "$" KEY64,	/* long salt */
		"scrypt$14$8$1$" SALT32 "$" "0011",		/* short key */
		"scrypt$14$8$1$" SALT32 "$" KEY64 "00",	/* long key */
		"scrypt$14$8$1$" SALT32 "$" KEY64 "$",
		"scrypt$14$8$1$" SALT32 "$" "g0112233445566778899aabbccddeeff"
		    "00112233445566778899aabbccddeeff",		/* bad hex */
		"scrypt$14$8$1$" SALT32,			/* no key */
	};
	struct err e;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err_clear(&e);
		if (passwd_verify("password", bad[i], &e) != COFFER_ECORRUPT)
			fail_msg("encoding %zu \"%s\" was not rejected", i,
			    bad[i]);
		assert_non_null(strstr(e.msg, "password hash"));
	}
	/* The bounds say which limit was hit. */
	assert_int_equal(passwd_verify("password", bad[9], &e),
	    COFFER_ECORRUPT);
	assert_non_null(strstr(e.msg, "N=2^21"));
}

static void
passwd_parameters_come_from_encoding(void **state)
{
	static const uint8_t salt[16] = "0123456789abcdef";
	uint8_t key[32];
	char enc[PASSWD_HASH_MAX], *p;
	struct err e;
	size_t i;
	int n;

	(void)state;
	/* A cheap hash made outside passwd.c, with N = 2^10, r = 4, p = 2. */
	assert_int_equal(EVP_PBE_scrypt("old secret", 10, salt, sizeof(salt),
	    1024, 4, 2, 0, key, sizeof(key)), 1);
	n = snprintf(enc, sizeof(enc), "scrypt$10$4$2$");
	p = enc + n;
	for (i = 0; i < sizeof(salt); i++, p += 2)
		sprintf(p, "%02x", salt[i]);
	*p++ = '$';
	for (i = 0; i < sizeof(key); i++, p += 2)
		sprintf(p, "%02X", key[i]);	/* either case parses */
	err_clear(&e);
	assert_int_equal(passwd_verify("old secret", enc, &e), 0);
	assert_int_equal(passwd_verify("old secreT", enc, &e), COFFER_EAUTH);
}

static void
passwd_policy_bounds_length(void **state)
{
	char pw[PASSWD_LEN_MAX + 2];
	struct err e;

	(void)state;
	err_clear(&e);
	assert_int_equal(passwd_check_policy("1234567", &e), COFFER_EINVAL);
	assert_non_null(strstr(e.msg, "too short"));
	assert_non_null(strstr(e.msg, "8 to 256 bytes"));
	assert_int_equal(passwd_check_policy("12345678", &e), 0);
	assert_int_equal(passwd_check_policy("", &e), COFFER_EINVAL);

	memset(pw, 'x', sizeof(pw));
	pw[PASSWD_LEN_MAX] = '\0';
	assert_int_equal(passwd_check_policy(pw, &e), 0);
	pw[PASSWD_LEN_MAX] = 'x';
	pw[PASSWD_LEN_MAX + 1] = '\0';
	err_clear(&e);
	assert_int_equal(passwd_check_policy(pw, &e), COFFER_EINVAL);
	assert_non_null(strstr(e.msg, "too long"));
}

static void
passwd_read_env_beats_file(void **state)
{
	struct fixture *fx = *state;
	char path[PATH_MAX], pw[PASSWD_BUF_MAX];
	struct err e;

	join(path, fx, "pw");
	write_file(path, "from the file\n", 0600);
	assert_int_equal(setenv(ENV_PW, "from the env", 1), 0);
	assert_int_equal(passwd_read(ENV_PW, path, pw, sizeof(pw), &e), 0);
	assert_string_equal(pw, "from the env");

	/* An empty variable counts as unset. */
	assert_int_equal(setenv(ENV_PW, "", 1), 0);
	assert_int_equal(passwd_read(ENV_PW, path, pw, sizeof(pw), &e), 0);
	assert_string_equal(pw, "from the file");
}

static void
passwd_read_takes_first_line_only(void **state)
{
	struct fixture *fx = *state;
	char path[PATH_MAX], pw[PASSWD_BUF_MAX];
	struct err e;

	join(path, fx, "pw");
	write_file(path, "line one\r\nline two\n", 0400);
	assert_int_equal(passwd_read(ENV_PW, path, pw, sizeof(pw), &e), 0);
	assert_string_equal(pw, "line one");

	/* No newline at all is fine too. */
	write_file(path, "bare", 0600);
	assert_int_equal(passwd_read(NULL, path, pw, sizeof(pw), &e), 0);
	assert_string_equal(pw, "bare");

	write_file(path, "\nsecond\n", 0600);
	err_clear(&e);
	assert_int_equal(passwd_read(NULL, path, pw, sizeof(pw), &e),
	    COFFER_EINVAL);
	assert_non_null(strstr(e.msg, "empty"));

	/* A password that does not fit the caller's buffer. */
	write_file(path, "0123456789\n", 0600);
	assert_int_equal(passwd_read(NULL, path, pw, 8, &e), COFFER_ETOOBIG);
}

static void
passwd_read_open_file_is_refused(void **state)
{
	struct fixture *fx = *state;
	char path[PATH_MAX], pw[PASSWD_BUF_MAX];
	struct err e;

	join(path, fx, "pw");
	write_file(path, "secret123\n", 0644);
	err_clear(&e);
	assert_int_equal(passwd_read(ENV_PW, path, pw, sizeof(pw), &e),
	    COFFER_EINVAL);
	assert_non_null(strstr(e.msg, path));
	assert_non_null(strstr(e.msg, "0644"));
	assert_non_null(strstr(e.msg, "too open"));

	/* Group write alone is enough to refuse it. */
	assert_int_equal(chmod(path, 0620), 0);
	assert_int_equal(passwd_read(ENV_PW, path, pw, sizeof(pw), &e),
	    COFFER_EINVAL);

	/* A directory is not a password file. */
	assert_int_equal(passwd_read(ENV_PW, fx->dir, pw, sizeof(pw), &e),
	    COFFER_EINVAL);
	assert_non_null(strstr(e.msg, "not a regular file"));
}

static void
passwd_read_missing_both_is_enotfound(void **state)
{
	struct fixture *fx = *state;
	char path[PATH_MAX], pw[PASSWD_BUF_MAX];
	struct err e;

	join(path, fx, "absent");
	err_clear(&e);
	assert_int_equal(passwd_read(ENV_PW, path, pw, sizeof(pw), &e),
	    COFFER_ENOTFOUND);
	assert_non_null(strstr(e.msg, ENV_PW));
	assert_non_null(strstr(e.msg, path));
}

static void
passwd_store_writes_0600_and_reads_back(void **state)
{
	struct fixture *fx = *state;
	char path[PATH_MAX], pw[PASSWD_BUF_MAX];
	struct stat st;
	struct err e;

	join(path, fx, "stored");
	assert_int_equal(passwd_store(path, "generated-Secret-1", &e), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(passwd_read(ENV_PW, path, pw, sizeof(pw), &e), 0);
	assert_string_equal(pw, "generated-Secret-1");

	/* Replacing a too-open file leaves a 0600 one. */
	assert_int_equal(chmod(path, 0644), 0);
	assert_int_equal(passwd_store(path, "second-Secret-2", &e), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(passwd_read(NULL, path, pw, sizeof(pw), &e), 0);
	assert_string_equal(pw, "second-Secret-2");

	/* A newline would make the file read back differently. */
	assert_int_equal(passwd_store(path, "two\nlines", &e), COFFER_EINVAL);
}

/* ---- server keys and proofs ---- */

static void
passwd_server_key_is_the_same_both_ways_round(void **state)
{
	uint8_t ab[PASSWD_SERVER_KEY_LEN], ba[PASSWD_SERVER_KEY_LEN];
	uint8_t other[PASSWD_SERVER_KEY_LEN];

	(void)state;
	assert_int_equal(passwd_server_key("s3rver-pw", "primary", "HOTSITE",
	    ab, NULL), 0);
	assert_int_equal(passwd_server_key("s3rver-pw", "hotsite", "Primary",
	    ba, NULL), 0);
	assert_memory_equal(ab, ba, sizeof(ab));
	/* Another partner, or another password: another key. */
	assert_int_equal(passwd_server_key("s3rver-pw", "PRIMARY", "DRSITE",
	    other, NULL), 0);
	assert_memory_not_equal(ab, other, sizeof(ab));
	assert_int_equal(passwd_server_key("s3rver-pX", "PRIMARY", "HOTSITE",
	    other, NULL), 0);
	assert_memory_not_equal(ab, other, sizeof(ab));
	/* The names are not just concatenated: A:BC differs from AB:C. */
	assert_int_equal(passwd_server_key("pw", "A", "BC", ab, NULL), 0);
	assert_int_equal(passwd_server_key("pw", "AB", "C", ba, NULL), 0);
	assert_memory_not_equal(ab, ba, sizeof(ab));
}

static void
passwd_server_key_matches_scrypt_of_the_documented_salt(void **state)
{
	static const char salt[] = "coffer-server-key:HOTSITE:PRIMARY";
	uint8_t key[PASSWD_SERVER_KEY_LEN], want[PASSWD_SERVER_KEY_LEN];

	(void)state;
	assert_int_equal(EVP_PBE_scrypt("s3rver-pw", 9,
	    (const unsigned char *)salt, strlen(salt), 1u << 14, 8, 1,
	    64u << 20, want, sizeof(want)), 1);
	assert_int_equal(passwd_server_key("s3rver-pw", "PRIMARY", "hotsite",
	    key, NULL), 0);
	assert_memory_equal(key, want, sizeof(key));
}

static void
passwd_server_key_rejects_empty_inputs(void **state)
{
	uint8_t key[PASSWD_SERVER_KEY_LEN];
	struct err e;

	(void)state;
	assert_int_equal(passwd_server_key("", "A", "B", key, &e),
	    COFFER_EINVAL);
	assert_int_equal(passwd_server_key("pw", "", "B", key, &e),
	    COFFER_EINVAL);
	assert_int_equal(passwd_server_key("pw", "A", NULL, key, &e),
	    COFFER_EINVAL);
}

static void
passwd_server_mac_binds_role_nonces_and_name(void **state)
{
	uint8_t key[PASSWD_SERVER_KEY_LEN], cn[32], sn[32];
	uint8_t m1[32], m2[32];

	(void)state;
	memset(key, 1, sizeof(key));
	memset(cn, 2, sizeof(cn));
	memset(sn, 3, sizeof(sn));
	assert_int_equal(passwd_server_mac(key, 'T', cn, sn, "HOT", m1,
	    NULL), 0);
	assert_int_equal(passwd_server_mac(key, 'T', cn, sn, "HOT", m2,
	    NULL), 0);
	assert_memory_equal(m1, m2, sizeof(m1));
	/* The target's proof cannot be replayed as the source's. */
	assert_int_equal(passwd_server_mac(key, 'S', cn, sn, "HOT", m2,
	    NULL), 0);
	assert_memory_not_equal(m1, m2, sizeof(m1));
	sn[31] ^= 1;
	assert_int_equal(passwd_server_mac(key, 'T', cn, sn, "HOT", m2,
	    NULL), 0);
	assert_memory_not_equal(m1, m2, sizeof(m1));
	sn[31] ^= 1;
	assert_int_equal(passwd_server_mac(key, 'T', cn, sn, "HOS", m2,
	    NULL), 0);
	assert_memory_not_equal(m1, m2, sizeof(m1));
	key[0] ^= 1;
	assert_int_equal(passwd_server_mac(key, 'T', cn, sn, "HOT", m2,
	    NULL), 0);
	assert_memory_not_equal(m1, m2, sizeof(m1));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(passwd_hash_then_verify_succeeds),
		cmocka_unit_test(passwd_wrong_password_is_eauth),
		cmocka_unit_test(passwd_same_password_hashes_differ),
		cmocka_unit_test(passwd_small_buffer_is_einval),
		cmocka_unit_test(passwd_malformed_encodings_are_ecorrupt),
		cmocka_unit_test(passwd_parameters_come_from_encoding),
		cmocka_unit_test(passwd_policy_bounds_length),
		cmocka_unit_test(passwd_server_key_is_the_same_both_ways_round),
		cmocka_unit_test(
		    passwd_server_key_matches_scrypt_of_the_documented_salt),
		cmocka_unit_test(passwd_server_key_rejects_empty_inputs),
		cmocka_unit_test(passwd_server_mac_binds_role_nonces_and_name),
		cmocka_unit_test_setup_teardown(passwd_read_env_beats_file,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    passwd_read_takes_first_line_only, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    passwd_read_open_file_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    passwd_read_missing_both_is_enotfound, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    passwd_store_writes_0600_and_reads_back, setup, teardown),
	};

	return cmocka_run_group_tests_name("passwd", tests, NULL, NULL);
}
