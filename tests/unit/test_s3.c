/*
 * test_s3.c - the S3 client's pure parts: the SigV4 signer against AWS's
 * published example, URI encoding, endpoint and bucket name checks, and
 * the XML answers we read.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "err.h"
#include "s3.h"

/*
 * AWS's "GET Object" example for Signature Version 4 (S3 API reference,
 * "Examples: Signature Calculations", header-based authentication):
 * GET /test.txt with Range: bytes=0-9 from examplebucket, 2013-05-24.
 */
static void
sign_aws_get_object_example(void **state)
{
	struct s3_sign_req r;
	char auth[512], empty[65];

	(void)state;
	assert_int_equal(s3_sha256_hex("", 0, empty), 0);
	assert_string_equal(empty, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	memset(&r, 0, sizeof(r));
	r.method = "GET";
	r.host = "examplebucket.s3.amazonaws.com";
	r.path = "/test.txt";
	r.query = "";
	r.range = "bytes=0-9";
	r.payload_sha256 = empty;
	r.amz_date = "20130524T000000Z";
	r.region = "us-east-1";
	r.access_key = "AKIAIOSFODNN7EXAMPLE";
	r.secret_key = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
	assert_int_equal(s3_sign(&r, auth, sizeof(auth)), 0);
	assert_string_equal(auth, "AWS4-HMAC-SHA256 Credential="
	    "AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
	    "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,"
	    "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
	/* A different secret must give a different signature. */
	r.secret_key = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEZ";
	assert_int_equal(s3_sign(&r, auth, sizeof(auth)), 0);
	assert_null(strstr(auth, "f0e8bdb87c964420"));
	/* Too small a buffer is an error, not a truncated header. */
	assert_int_equal(s3_sign(&r, auth, 40), -1);
}

static void
uri_encode(void **state)
{
	char out[64];

	(void)state;
	assert_int_equal(s3_uri_encode("a b/c~d_e.f-g", 0, out, sizeof(out)), 0);
	assert_string_equal(out, "a%20b/c~d_e.f-g");
	assert_int_equal(s3_uri_encode("a/b+c=", 1, out, sizeof(out)), 0);
	assert_string_equal(out, "a%2Fb%2Bc%3D");
	assert_int_equal(s3_uri_encode("\xc3\xa9", 1, out, sizeof(out)), 0);
	assert_string_equal(out, "%C3%A9");
	assert_int_equal(s3_uri_encode("abcdef", 1, out, 6), -1);
}

static void
url_parse(void **state)
{
	struct s3_url u;
	struct err e;

	(void)state;
	assert_int_equal(s3_url_parse("http://127.0.0.1:7480", &u, &e), 0);
	assert_false(u.tls);
	assert_string_equal(u.host, "127.0.0.1");
	assert_int_equal(u.port, 7480);
	assert_int_equal(s3_url_parse("HTTPS://rgw.example.org/", &u, &e), 0);
	assert_true(u.tls);
	assert_int_equal(u.port, 443);
	assert_int_equal(s3_url_parse("http://h", &u, &e), 0);
	assert_int_equal(u.port, 80);
	assert_int_equal(s3_url_parse("ftp://h:21", &u, &e), COFFER_EINVAL);
	assert_non_null(strstr(e.msg, "http:// or https://"));
	assert_int_equal(s3_url_parse("http://h:7480/bucket", &u, &e),
	    COFFER_EINVAL);
	assert_non_null(strstr(e.msg, "BUCKET="));
	assert_int_equal(s3_url_parse("http://h:0", &u, &e), COFFER_EINVAL);
	assert_int_equal(s3_url_parse("http://h:99999", &u, &e), COFFER_EINVAL);
	assert_int_equal(s3_url_parse("http://h:12x", &u, &e), COFFER_EINVAL);
	assert_int_equal(s3_url_parse("http://:80", &u, &e), COFFER_EINVAL);
	assert_int_equal(s3_url_parse("http://key:secret@h:80", &u, &e),
	    COFFER_EINVAL);
	assert_non_null(strstr(e.msg, "IDENTITY="));
	assert_int_equal(s3_url_parse("http://h%20x:80", &u, &e),
	    COFFER_EINVAL);
}

static void
bucket_names(void **state)
{
	struct err e;

	(void)state;
	assert_int_equal(s3_bucket_name_check("coffer-pool.1", &e), 0);
	assert_int_equal(s3_bucket_name_check("ab", &e), COFFER_EINVAL);
	assert_int_equal(s3_bucket_name_check("Upper", &e), COFFER_EINVAL);
	assert_int_equal(s3_bucket_name_check("-lead", &e), COFFER_EINVAL);
	assert_int_equal(s3_bucket_name_check("trail-", &e), COFFER_EINVAL);
	assert_int_equal(s3_bucket_name_check("a/b/c", &e), COFFER_EINVAL);
}

static void
xml_list_and_error(void **state)
{
	static const char list[] =
	    "<?xml version=\"1.0\" encoding=\"UTF-8\"?><ListBucketResult "
	    "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Name>b</Name>"
	    "<Prefix>p/</Prefix><KeyCount>2</KeyCount><MaxKeys>1000</MaxKeys>"
	    "<IsTruncated>true</IsTruncated><NextContinuationToken>1ueG&amp;x"
	    "</NextContinuationToken><Contents><Key>p/a&amp;b&lt;c&gt;</Key>"
	    "<LastModified>x</LastModified><ETag>&quot;e1&quot;</ETag>"
	    "<Size>42</Size></Contents><Contents><Key>p/0000000000000001.ctr"
	    "</Key><Size>7</Size></Contents></ListBucketResult>";
	static const char errx[] = "<?xml version=\"1.0\"?><Error><Code>"
	    "NoSuchBucket</Code><BucketName>x</BucketName></Error>";
	char out[64], small[4];
	size_t pos = 0;

	(void)state;
	assert_int_equal(s3_xml_next(list, strlen(list), &pos, "Key", out,
	    sizeof(out)), 1);
	/* <Key> is not matched by <KeyCount>; entities decoded. */
	assert_string_equal(out, "p/a&b<c>");
	assert_int_equal(s3_xml_next(list, strlen(list), &pos, "Size", out,
	    sizeof(out)), 1);
	assert_string_equal(out, "42");
	assert_int_equal(s3_xml_next(list, strlen(list), &pos, "Key", out,
	    sizeof(out)), 1);
	assert_string_equal(out, "p/0000000000000001.ctr");
	assert_int_equal(s3_xml_next(list, strlen(list), &pos, "Size", out,
	    sizeof(out)), 1);
	assert_string_equal(out, "7");
	assert_int_equal(s3_xml_next(list, strlen(list), &pos, "Key", out,
	    sizeof(out)), 0);
	pos = 0;
	assert_int_equal(s3_xml_next(list, strlen(list), &pos,
	    "NextContinuationToken", out, sizeof(out)), 1);
	assert_string_equal(out, "1ueG&x");
	pos = 0;
	assert_int_equal(s3_xml_next(list, strlen(list), &pos, "Key", small,
	    sizeof(small)), -1);
	pos = 0;
	assert_int_equal(s3_xml_next(errx, strlen(errx), &pos, "Code", out,
	    sizeof(out)), 1);
	assert_string_equal(out, "NoSuchBucket");
	/* An unterminated element is not found, not read past the end. */
	pos = 0;
	assert_int_equal(s3_xml_next("<Code>abc", 9, &pos, "Code", out,
	    sizeof(out)), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(sign_aws_get_object_example),
		cmocka_unit_test(uri_encode),
		cmocka_unit_test(url_parse),
		cmocka_unit_test(bucket_names),
		cmocka_unit_test(xml_list_and_error),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
