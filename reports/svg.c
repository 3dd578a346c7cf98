/*
 * svg.c - tidying gnuplot's SVG files and inlining them into HTML.
 */
#include "reports/svg.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "reports/text.h"

/* Reads the whole file at path into a malloc'd NUL-terminated buffer. */
static int slurp(const char *path, char **out, size_t *len)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return -errno;
    size_t cap = 1 << 16, n = 0;
    char *b = malloc(cap);
    while (b) {
        size_t k = fread(b + n, 1, cap - n - 1, f);
        n += k;
        if (n + 1 < cap)
            break;
        char *nb = realloc(b, cap * 2);
        if (!nb) {
            free(b);
            b = NULL;
            break;
        }
        b = nb;
        cap *= 2;
    }
    int bad = ferror(f);
    fclose(f);
    if (!b)
        return -ENOMEM;
    if (bad) {
        free(b);
        return -EIO;
    }
    b[n] = '\0';
    *out = b;
    *len = n;
    return 0;
}

static int starts(const char *p, const char *s)
{
    return strncmp(p, s, strlen(s)) == 0;
}

#define HOOK_OPEN   "<g onmousemove=\"gnuplot_svg.showHypertext(evt,'"
#define HOOK_CLOSE  "')\" onmouseout=\"gnuplot_svg.hideHypertext()\">"
#define EMPTY_TITLE "<title> </title>"
#define PLOT_TITLE  "<title>gnuplot_plot_"

int rep_svg_tidy(const char *path, const char *title)
{
    char *b = NULL;
    size_t n = 0;
    int rc = slurp(path, &b, &n);
    if (rc != 0)
        return rc;
    char tmp[4200];
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp", path) >= sizeof tmp) {
        free(b);
        return -ENAMETOOLONG;
    }
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        rc = -errno;
        free(b);
        return rc;
    }
    int titled = 0;
    for (const char *p = b; *p;) {
        if (!titled && starts(p, "<title>Gnuplot</title>")) {
            fputs("<title>", f);
            rep_html_escape(f, title);
            fputs("</title>", f);
            p += strlen("<title>Gnuplot</title>");
            titled = 1;
        } else if (starts(p, PLOT_TITLE)) {
            const char *e = strstr(p, "</title>");
            if (!e) {
                fputc(*p++, f);
                continue;
            }
            p = e + strlen("</title>");
        } else if (starts(p, HOOK_OPEN)) {
            const char *t = p + strlen(HOOK_OPEN);
            const char *e = strstr(t, HOOK_CLOSE);
            if (!e) {
                fputc(*p++, f);
                continue;
            }
            /* TEXT is already escaped for an attribute by gnuplot. */
            fputs("<g><title>", f);
            for (const char *q = t; q < e; q++) {
                if (q[0] == '\\' && q[1] == 'n') {
                    fputc('\n', f);
                    q++;
                } else {
                    fputc(*q, f);
                }
            }
            fputs("</title>", f);
            p = e + strlen(HOOK_CLOSE);
            if (starts(p, EMPTY_TITLE))
                p += strlen(EMPTY_TITLE);
        } else {
            fputc(*p++, f);
        }
    }
    free(b);
    int bad = ferror(f);
    bad |= fclose(f) != 0;
    if (bad || rename(tmp, path) != 0) {
        rc = bad ? -EIO : -errno;
        remove(tmp);
        return rc;
    }
    return 0;
}

/* Writes an attribute value's opening quote and the prefix after it. */
static void prefixed(FILE *f, const char *what, size_t wlen, const char *prefix)
{
    fwrite(what, 1, wlen, f);
    fprintf(f, "%s-", prefix);
}

int rep_svg_inline(FILE *f, const char *path, const char *prefix)
{
    char *b = NULL;
    size_t n = 0;
    int rc = slurp(path, &b, &n);
    if (rc != 0)
        return rc;
    char *start = strstr(b, "<svg");
    char *end = NULL;
    for (char *q = start; q && (q = strstr(q, "</svg>")) != NULL; q += 6)
        end = q;
    if (!start || !end) {
        free(b);
        return -EINVAL;
    }
    end += strlen("</svg>");
    /* the natural width, from viewBox="0 0 W H": the page never enlarges it */
    double vw = 0;
    const char *vb = strstr(start, "viewBox=\"");
    if (vb && vb < end) {
        double x0, y0, vh;
        if (sscanf(vb + 9, "%lf %lf %lf %lf", &x0, &y0, &vw, &vh) != 4)
            vw = 0;
    }
    fputs("<svg class=\"chart\" role=\"img\"", f);
    if (vw > 0)
        fprintf(f, " style=\"max-width:%.0fpx\"", vw);
    static const char *const refs[] = {" id='", " id=\"", "href='#", "href=\"#", "url(#"};
    for (const char *p = start + 4; p < end;) {
        size_t k = 0;
        for (; k < sizeof refs / sizeof refs[0]; k++)
            if (starts(p, refs[k]))
                break;
        if (k < sizeof refs / sizeof refs[0]) {
            prefixed(f, refs[k], strlen(refs[k]), prefix);
            p += strlen(refs[k]);
        } else {
            fputc(*p++, f);
        }
    }
    fputc('\n', f);
    free(b);
    return ferror(f) ? -EIO : 0;
}
