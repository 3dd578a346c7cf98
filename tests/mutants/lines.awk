# lines.awk - line-level mutation operators over C sources (tests/mutants.sh
# --lines).  One output line per mutant, tab-separated:
#   file  line  operator  original-line  mutated-line
# Operators, applied to code only (comments, string and character literals
# and preprocessor lines are masked out):
#   ror_<from>_<to>  relational flip: < <=, <= <, > >=, >= >, == !=, != ==
#   lcr_and / lcr_or logical flip: && ||, || &&
#   neg              a logical negation dropped: !x becomes x
#   lit_0 / lit_1    an integer constant 0 becomes 1, 1 becomes 0
#   del_call         a statement that is only a call becomes (void)0
#   del_step         a statement that is only x++ or x-- becomes (void)0
# Several occurrences on one line give several mutants (suffix _2, _3, ...).

function emit(op, newline) {
    seen[op]++
    name = seen[op] > 1 ? op "_" seen[op] : op
    printf "%s\t%d\t%s\t%s\t%s\n", FILENAME, FNR, name, $0, newline
}
function isword(c) { return c ~ /[A-Za-z0-9_.]/ }

FNR == 1 { in_comment = 0 }
{
    delete seen
    line = $0
    # mask: the line with comments and literals blanked, same length
    mask = ""; i = 1; L = length(line)
    while (i <= L) {
        c = substr(line, i, 1); c2 = substr(line, i, 2)
        if (in_comment) {
            if (c2 == "*/") { in_comment = 0; mask = mask "  "; i += 2; continue }
            mask = mask " "; i++; continue
        }
        if (c2 == "/*") { in_comment = 1; mask = mask "  "; i += 2; continue }
        if (c2 == "//") { while (i <= L) { mask = mask " "; i++ }; break }
        if (c == "\"" || c == "'") {
            q = c; mask = mask " "; i++
            while (i <= L && substr(line, i, 1) != q) {
                if (substr(line, i, 1) == "\\") { mask = mask " "; i++ }
                mask = mask " "; i++
            }
            mask = mask " "; i++; continue
        }
        mask = mask c; i++
    }
    if (mask ~ /^[ \t]*#/ || mask ~ /^[ \t]*$/)
        next

    for (i = 1; i <= L; i++) {
        c = substr(mask, i, 1); c2 = substr(mask, i, 2)
        p = i > 1 ? substr(mask, i - 1, 1) : ""
        pre = substr(line, 1, i - 1)
        if (c2 == "<=" || c2 == ">=" || c2 == "==" || c2 == "!=") {
            if (p == "<" || p == ">" || p == "=" || p == "!") continue
            to = c2 == "<=" ? "<" : c2 == ">=" ? ">" : c2 == "==" ? "!=" : "=="
            nm = c2 == "<=" ? "ror_le_lt" : c2 == ">=" ? "ror_ge_gt" : c2 == "==" ? "ror_eq_ne" : "ror_ne_eq"
            emit(nm, pre to substr(line, i + 2))
            i++
            continue
        }
        if (c2 == "&&" || c2 == "||") {
            emit(c2 == "&&" ? "lcr_and" : "lcr_or", pre (c2 == "&&" ? "||" : "&&") substr(line, i + 2))
            i++
            continue
        }
        if (c == "<" || c == ">") {
            nx = substr(mask, i + 1, 1)
            if (nx == c || p == c || p == "-" || nx == "=") continue
            emit(c == "<" ? "ror_lt_le" : "ror_gt_ge", pre c "=" substr(line, i + 1))
            continue
        }
        if (c == "!" && substr(mask, i + 1, 1) != "=") {
            emit("neg", pre substr(line, i + 1))
            continue
        }
        if ((c == "0" || c == "1") && !isword(p) && !isword(substr(mask, i + 1, 1))) {
            emit(c == "0" ? "lit_0" : "lit_1", pre (c == "0" ? "1" : "0") substr(line, i + 1))
            continue
        }
    }
    ind = line; sub(/[^ ].*$/, "", ind)
    if (mask ~ /^[ \t]*[A-Za-z_][A-Za-z0-9_]*(->|\.|[A-Za-z0-9_])*\(.*\);[ \t]*$/ &&
        mask !~ /^[ \t]*(return|if|while|for|switch|sizeof|case)[ (]/)
        emit("del_call", ind "(void)0; /* mutant: call deleted */")
    else if (mask ~ /^[ \t]*[A-Za-z_][A-Za-z0-9_>.\[\]-]*(\+\+|--);[ \t]*$/)
        emit("del_step", ind "(void)0; /* mutant: step deleted */")
}
