/*
 * s3_xml.c - the little XML S3 answers need: text of named elements.
 *
 * S3 replies are flat and machine-written (ListBucketResult, Error,
 * InitiateMultipartUploadResult); finding <Tag>text</Tag> in order and
 * decoding the five predefined entities is all we use, so no XML library
 * is linked into the pool.  Elements are matched by exact name: <Key>
 * does not match <KeyCount>.
 */
#include "config.h"

#include <string.h>

#include "s3.h"

/* Decode [p, p+n) into out; -1 when out is too small. */
static int
decode(const char *p, size_t n, char *out, size_t outlen)
{
	static const struct { const char *ent; char c; } ents[] = {
		{ "&amp;", '&' }, { "&lt;", '<' }, { "&gt;", '>' },
		{ "&quot;", '"' }, { "&apos;", '\'' },
	};
	size_t o = 0;

	for (size_t i = 0; i < n; ) {
		char c = p[i];
		size_t adv = 1;

		if (c == '&') {
			for (size_t k = 0; k < sizeof(ents) / sizeof(ents[0]);
			    k++) {
				size_t const el = strlen(ents[k].ent);

				if (i + el <= n &&
				    memcmp(p + i, ents[k].ent, el) == 0) {
					c = ents[k].c;
					adv = el;
					break;
				}
			}
		}
		if (o + 1 >= outlen)
			return -1;
		out[o++] = c;
		i += adv;
	}
	if (outlen == 0)
		return -1;
	out[o] = '\0';
	return 0;
}

static const char *
find(const char *hay, size_t hlen, const char *needle)
{
	size_t const nl = strlen(needle);

	if (nl > hlen)
		return NULL;
	for (size_t i = 0; i + nl <= hlen; i++)
		if (hay[i] == needle[0] && memcmp(hay + i, needle, nl) == 0)
			return hay + i;
	return NULL;
}

int
s3_xml_next(const char *xml, size_t len, size_t *pos, const char *tag,
    char *out, size_t outlen)
{
	char open[80], close[80];
	const char *a, *b;
	size_t const tl = strlen(tag);

	if (tl + 4 > sizeof(open) || *pos > len)
		return -1;
	memcpy(open, "<", 1);
	memcpy(open + 1, tag, tl);
	memcpy(open + 1 + tl, ">", 2);
	memcpy(close, "</", 2);
	memcpy(close + 2, tag, tl);
	memcpy(close + 2 + tl, ">", 2);
	if ((a = find(xml + *pos, len - *pos, open)) == NULL)
		return 0;
	a += tl + 2;
	if ((b = find(a, len - (size_t)(a - xml), close)) == NULL)
		return 0;
	if (decode(a, (size_t)(b - a), out, outlen) != 0)
		return -1;
	*pos = (size_t)(b - xml) + tl + 3;
	return 1;
}
