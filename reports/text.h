/*
 * text.h - making arbitrary bytes safe for the formats the reports write:
 * UTF-8 clean-up (XML and HTML need valid UTF-8 without control
 * characters), HTML and Markdown escaping, POSIX shell quoting.
 */
#ifndef REP_TEXT_H
#define REP_TEXT_H

#include <stddef.h>
#include <stdio.h>

/*
 * rep_utf8_clean copies `in` into out[len], replacing every byte that is not
 * part of a valid UTF-8 sequence, and every control character other than
 * tab and newline, by '?'.  The result is always NUL-terminated and never
 * splits a sequence.  Returns 0, or -ENOSPC when the result was truncated.
 * O(strlen(in)).
 */
int rep_utf8_clean(const char *in, char *out, size_t len);

/*
 * rep_html_escape writes `s` to f with & < > " ' escaped as entities, after
 * the clean-up of rep_utf8_clean (invalid bytes become '?').  A NULL s
 * writes nothing.  Returns 0 or -EIO on a write error.  O(strlen(s)).
 */
int rep_html_escape(FILE *f, const char *s);

/*
 * rep_md_escape writes `s` to f for a Markdown table cell: '|', '\\', '`',
 * '*', '_', '<', '>', '&' and '[' ']' are backslash-escaped, newlines become
 * spaces.  Returns 0 or -EIO.  O(strlen(s)).
 */
int rep_md_escape(FILE *f, const char *s);

/*
 * rep_shell_quote writes `s` into buf[len] so that a POSIX shell reads it
 * back as one word: unchanged when it only holds [A-Za-z0-9_./=:,+@%-]
 * (and is not empty), else in single quotes with ' written as '\''.
 * Returns 0, or -ENOSPC when buf is too small (buf then holds "").
 */
int rep_shell_quote(const char *s, char *buf, size_t len);

/*
 * rep_shell_join writes argv[0..n) into buf[len] as one command line:
 * every word through rep_shell_quote (the one quoting of every command
 * line the tool prints), separated by one space.  Returns 0, or -ENOSPC
 * (buf then holds "").  O(total length).
 */
int rep_shell_join(const char *const *argv, size_t n, char *buf, size_t len);

/*
 * rep_comment_line makes s (in place) safe as the text of a shell comment
 * ("LINE   # s") on one line: every control character (newline, carriage
 * return, ...) becomes a space, so a pasted block runs only its command
 * lines.  Returns s.  O(strlen(s)).
 */
char *rep_comment_line(char *s);

/*
 * rep_text_printable returns 0 when s (NULL: "") is valid UTF-8 holding no
 * control character (C0, DEL, C1) and no bidirectional override or
 * isolate (U+202A..U+202E, U+2066..U+2069): text that every format the
 * tool writes (terminal, JSON, XML, HTML, Markdown, a pasted shell line)
 * shows as it is and reads back unchanged.  -EILSEQ for invalid UTF-8,
 * -EINVAL for a control character.  The CLI refuses scenario file names
 * that are not (they are printed in replay commands).  O(strlen(s)).
 */
int rep_text_printable(const char *s);

#endif
