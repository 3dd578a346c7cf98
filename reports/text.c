/*
 * text.c - UTF-8 clean-up and escaping for XML, HTML, Markdown and shell.
 */
#include "reports/text.h"

#include <errno.h>
#include <string.h>

/* Length of the valid UTF-8 sequence at p (1..4), or 0 if invalid.  Rejects
 * overlong forms, surrogates and code points above U+10FFFF. */
static size_t utf8_seq(const unsigned char *p)
{
    unsigned char c = p[0];
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        return (p[1] & 0xc0) == 0x80 ? 2 : 0;
    if (c >= 0xe0 && c <= 0xef) {
        if ((p[1] & 0xc0) != 0x80 || (p[2] & 0xc0) != 0x80)
            return 0;
        if (c == 0xe0 && p[1] < 0xa0)
            return 0; /* overlong */
        if (c == 0xed && p[1] >= 0xa0)
            return 0; /* surrogate */
        return 3;
    }
    if (c >= 0xf0 && c <= 0xf4) {
        if ((p[1] & 0xc0) != 0x80 || (p[2] & 0xc0) != 0x80 || (p[3] & 0xc0) != 0x80)
            return 0;
        if (c == 0xf0 && p[1] < 0x90)
            return 0; /* overlong */
        if (c == 0xf4 && p[1] >= 0x90)
            return 0; /* above U+10FFFF */
        return 4;
    }
    return 0;
}

int rep_utf8_clean(const char *in, char *out, size_t len)
{
    if (len == 0)
        return -ENOSPC;
    const unsigned char *p = (const unsigned char *)(in ? in : "");
    size_t o = 0;
    while (*p) {
        size_t n = utf8_seq(p);
        if (n == 1 && ((*p < 0x20 && *p != '\t' && *p != '\n') || *p == 0x7f))
            n = 0;
        size_t w = n ? n : 1;
        if (o + w >= len) {
            out[o] = '\0';
            return -ENOSPC;
        }
        if (n)
            memcpy(out + o, p, n);
        else
            out[o] = '?';
        o += w;
        p += w;
    }
    out[o] = '\0';
    return 0;
}

/* Writes one ASCII byte c escaped for HTML/XML text and attributes. */
static int html_byte(FILE *f, unsigned char c)
{
    switch (c) {
    case '&':
        return fputs("&amp;", f);
    case '<':
        return fputs("&lt;", f);
    case '>':
        return fputs("&gt;", f);
    case '"':
        return fputs("&quot;", f);
    case '\'':
        return fputs("&#39;", f);
    default:
        if ((c < 0x20 && c != '\t' && c != '\n') || c == 0x7f)
            return fputc('?', f);
        return fputc(c, f);
    }
}

/* Writes one ASCII byte c escaped for a Markdown table cell. */
static int md_byte(FILE *f, unsigned char c)
{
    if (strchr("|\\`*_<>[]&", c))
        return fprintf(f, "\\%c", c) < 0 ? EOF : 0;
    if (c == '\n' || c == '\r' || c == '\t')
        return fputc(' ', f);
    if (c < 0x20 || c == 0x7f)
        return fputc('?', f);
    return fputc(c, f);
}

/*
 * Writes s to f: valid multi-byte UTF-8 sequences as they are, invalid
 * bytes as '?', ASCII bytes through byte().  -EIO on a write error.
 */
static int escape_utf8(FILE *f, const char *s, int (*byte)(FILE *, unsigned char))
{
    if (!s)
        return 0;
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        size_t n = utf8_seq(p);
        int rc = 0;
        if (n == 1) {
            rc = byte(f, *p);
        } else if (n == 0) {
            rc = fputc('?', f);
            n = 1;
        } else {
            rc = fwrite(p, 1, n, f) == n ? 0 : EOF;
        }
        if (rc == EOF)
            return -EIO;
        p += n;
    }
    return 0;
}

int rep_html_escape(FILE *f, const char *s)
{
    return escape_utf8(f, s, html_byte);
}

int rep_md_escape(FILE *f, const char *s)
{
    return escape_utf8(f, s, md_byte);
}

int rep_text_printable(const char *s)
{
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    while (*p) {
        size_t n = utf8_seq(p);
        if (n == 0)
            return -EILSEQ;
        if (n == 1 && (*p < 0x20 || *p == 0x7f))
            return -EINVAL;
        /* C1 controls (a terminal may take U+009B for CSI) */
        if (n == 2 && p[0] == 0xc2 && p[1] < 0xa0)
            return -EINVAL;
        /* bidirectional overrides and isolates: the line would not read
         * as it runs (U+202A..U+202E, U+2066..U+2069) */
        if (n == 3 && p[0] == 0xe2 &&
            ((p[1] == 0x80 && p[2] >= 0xaa && p[2] <= 0xae) ||
             (p[1] == 0x81 && p[2] >= 0xa6 && p[2] <= 0xa9)))
            return -EINVAL;
        p += n;
    }
    return 0;
}

char *rep_comment_line(char *s)
{
    for (unsigned char *p = (unsigned char *)s; p && *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            *p = ' ';
    return s;
}

int rep_shell_join(const char *const *argv, size_t n, char *buf, size_t len)
{
    if (len == 0)
        return -ENOSPC;
    size_t o = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        if (i > 0) {
            if (o + 1 >= len) {
                buf[0] = '\0';
                return -ENOSPC;
            }
            buf[o++] = ' ';
            buf[o] = '\0';
        }
        int rc = rep_shell_quote(argv[i], buf + o, len - o);
        if (rc != 0) {
            buf[0] = '\0';
            return rc;
        }
        o += strlen(buf + o);
    }
    return 0;
}

int rep_shell_quote(const char *s, char *buf, size_t len)
{
    static const char safe[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                               "0123456789_./=:,+@%-";
    if (len == 0)
        return -ENOSPC;
    buf[0] = '\0';
    size_t n = strlen(s);
    if (n > 0 && strspn(s, safe) == n) {
        if (n >= len)
            return -ENOSPC;
        memcpy(buf, s, n + 1);
        return 0;
    }
    size_t o = 0;
#define PUT(str)                                                                                   \
    do {                                                                                           \
        size_t l_ = strlen(str);                                                                   \
        if (o + l_ >= len) {                                                                       \
            buf[0] = '\0';                                                                         \
            return -ENOSPC;                                                                        \
        }                                                                                          \
        memcpy(buf + o, str, l_);                                                                  \
        o += l_;                                                                                   \
    } while (0)
    PUT("'");
    for (const char *p = s; *p; p++) {
        if (*p == '\'') {
            PUT("'\\''");
        } else {
            char c[2] = {*p, 0};
            PUT(c);
        }
    }
    PUT("'");
#undef PUT
    buf[o] = '\0';
    return 0;
}
