/* Unit tests for ingest/markdown.c: Markdown to parts of plain text. */
#include "helpers.h"

#include "raftkit/markdown.h"

static rk_parts parts_of(const char *md) {
    rk_parts p = {0};
    rk_error e = {0};
    cr_assert_eq(rk_markdown_parts(md, strlen(md), &p, &e), RK_OK, "%s", e.msg);
    return p;
}

/* The text of a document without headings: its one part. */
static char *text_of(const char *md) {
    rk_parts p = parts_of(md);
    cr_assert_eq(p.n, 1, "%zu parts", p.n);
    cr_assert_str_eq(p.v[0].title, "");
    char *t = strdup(p.v[0].text);
    rk_parts_free(&p);
    return t;
}

Test(markdown, code_blocks_keep_their_contents_verbatim) {
    char *t = text_of("Run *this*:\n"
                      "\n"
                      "```python {.x *y* _z_}\n"
                      "def f(snake_case): return [x](y) * 2  # **not bold**\n"
                      "\n"
                      "print(`tick`)\n"
                      "```\n"
                      "~~~\n"
                      "<b>raw</b> &amp;\n"
                      "~~~\n"
                      "\n"
                      "    indented *code*\n"
                      "      keeps [its](spaces)\n"
                      "\n"
                      "    after a blank line\n"
                      "Text\n"
                      "    continues, not code *here*\n");
    cr_assert_str_eq(t, "Run this:\n\n"
                        "def f(snake_case): return [x](y) * 2  # **not bold**\n\nprint(`tick`)\n\n"
                        "<b>raw</b> &amp;\n\n"
                        "indented *code*\n  keeps [its](spaces)\n\nafter a blank line\n\n"
                        "Text\ncontinues, not code here");
    free(t);
}

Test(markdown, an_unclosed_fence_runs_to_the_end) {
    char *t = text_of("Before\n````\ncode *a*\n```\nstill code\n");
    cr_assert_str_eq(t, "Before\n\ncode *a*\n```\nstill code");
    free(t);
}

Test(markdown, tables_lose_their_pipes_and_delimiter_row) {
    char *t = text_of("Prices:\n"
                      "| Item | *Cost* |  Note |\n"
                      "|:-----|------:|:-----:|\n"
                      "| Tea  | 2 |  |\n"
                      "| a \\| b | `x\\|` | [more](http://m) | extra |\n"
                      "Coffee | 3\n"
                      "\n"
                      "After the table.\n");
    cr_assert_str_eq(t, "Prices:\n\nItem Cost Note\nTea 2\na | b x| more\nCoffee 3\n\nAfter the table.");
    free(t);
}

Test(markdown, a_delimiter_row_that_does_not_fit_the_header_is_text) {
    char *t = text_of("a | b\n--- | --- | ---\n");
    cr_assert_str_eq(t, "a | b\n--- | --- | ---");
    free(t);
}

Test(markdown, list_items_are_lines_without_markers) {
    char *t = text_of("Shopping:\n"
                      "- bread\n"
                      "* milk\n"
                      "  + whole\n"
                      "    wrapped line\n"
                      "  + skimmed\n"
                      "- [ ] open task\n"
                      "- [x] done task\n"
                      "- [X] also done\n"
                      "\n"
                      "1. first\n"
                      "2) second\n"
                      "   1. nested *one*\n"
                      "10. tenth\n"
                      "\n"
                      "Numbers:\n"
                      "2. cannot interrupt a paragraph\n"
                      "-1 is a number\n");
    cr_assert_str_eq(
        t, "Shopping:\n\nbread\nmilk\nwhole\nwrapped line\nskimmed\nopen task\ndone task\nalso done\n\n"
           "first\nsecond\nnested one\ntenth\n\n"
           "Numbers:\n2. cannot interrupt a paragraph\n-1 is a number");
    free(t);
}

Test(markdown, a_fence_inside_a_list_item_is_code) {
    char *t = text_of("1. Build:\n"
                      "   ```sh\n"
                      "   make *all*\n"
                      "     -j2\n"
                      "   ```\n"
                      "2. Test\n");
    cr_assert_str_eq(t, "Build:\n\nmake *all*\n  -j2\n\nTest");
    free(t);
}

Test(markdown, block_quote_markers_are_removed) {
    char *t = text_of("> Quoted *words*\n"
                      "lazy continuation\n"
                      ">\n"
                      "> > nested quote\n"
                      "\n"
                      "> - quoted item\n"
                      ">   ```\n"
                      ">   > not a quote\n"
                      ">   ```\n");
    cr_assert_str_eq(t, "Quoted words\nlazy continuation\n\nnested quote\n\nquoted item\n\n> not a quote");
    free(t);
}

Test(markdown, emphasis_markers_are_removed) {
    char *t = text_of("*em* _em_ **strong** __strong__ ***both*** ~~struck~~\n"
                      "\n"
                      "*a **nested** one* and **a *nested* one**\n"
                      "\n"
                      "snake_case_name and __init__ and 2 * 3 * 4 and a*b*c\n"
                      "\n"
                      "*not closed and ** alone and ~one~ and ~~~three~~~\n"
                      "\n"
                      "\\*escaped\\* and \\_escaped\\_\n");
    cr_assert_str_eq(t, "em em strong strong both struck\n\n"
                        "a nested one and a nested one\n\n"
                        "snake_case_name and init and 2 * 3 * 4 and abc\n\n"
                        "*not closed and ** alone and ~one~ and ~~~three~~~\n\n"
                        "*escaped* and _escaped_");
    free(t);
}

Test(markdown, emphasis_spans_the_lines_of_a_paragraph) {
    char *t = text_of("a *b\nc* d\n");
    cr_assert_str_eq(t, "a b\nc d");
    free(t);
}

Test(markdown, code_spans_keep_their_content) {
    char *t = text_of("Call `f(*a, **b)` or `` a`b `` or ` [x](y) `; `unclosed\n");
    cr_assert_str_eq(t, "Call f(*a, **b) or a`b or [x](y); `unclosed");
    free(t);
}

Test(markdown, links_keep_their_text_only) {
    char *t = text_of("See [the *docs*](http://d.org \"Docs\") and ![a chart](c.png 'C') and "
                      "[empty]() and [nested [brackets]](<a b>).\n"
                      "Auto <https://x.org/a?b=1> and <mail@x.org> and [ref][id], [Id][], [ID] "
                      "and [undefined] [t][nope].\n"
                      "[![badge](b.svg)](http://ci) then [x](y\n"
                      "\n"
                      "[id]: http://example.org/path \"A title\"\n");
    cr_assert_str_eq(t, "See the docs and a chart and empty and nested [brackets].\n"
                        "Auto https://x.org/a?b=1 and mail@x.org and ref, Id, ID and [undefined] [t][nope].\n"
                        "badge then [x](y");
    free(t);
}

Test(markdown, a_definition_cannot_interrupt_a_paragraph) {
    char *t = text_of("Text\n[id]: /url\n\n[id]\n");
    cr_assert_str_eq(t, "Text\n[id]: /url\n\n[id]");
    free(t);
}

Test(markdown, html_tags_and_comments_are_removed) {
    char *t = text_of("<div class=\"note\">\n"
                      "Some <b>bold</b> and <span title=\"a > b\">span</span> text<br/>next line\n"
                      "</div>\n"
                      "Keep a <!-- hidden --> b, 1 < 2 and 3 > 2 and a<b.\n"
                      "<!-- a comment\n"
                      "\n"
                      "over lines -->\n"
                      "<?php echo 1; ?>After <![CDATA[x]]>all.\n");
    cr_assert_str_eq(t, "Some bold and span text\nnext line\n"
                        "Keep a  b, 1 < 2 and 3 > 2 and a<b.\n\n"
                        "After all.");
    free(t);
}

Test(markdown, entities_are_decoded) {
    char *t = text_of("&amp; &lt; &gt; &quot; &#39; &nbsp;| &#169; &#x263A; &#X41; &eacute; "
                      "&#0; &#x110000; &bogus; & alone &amp\n");
    cr_assert_str_eq(t, "& < > \" ' \xc2\xa0| \xc2\xa9 \xe2\x98\xba A \xc3\xa9 "
                        "\xef\xbf\xbd \xef\xbf\xbd &bogus; & alone &amp");
    free(t);
}

Test(markdown, front_matter_is_dropped) {
    rk_parts p = parts_of("---\ntitle: Not text\ntags: [a, b]\n---\nBody *text*.\n");
    cr_assert_eq(p.n, 1);
    expect_part(&p, 0, "", "Body text.");
    cr_assert_null(p.title);
    rk_parts_free(&p);
    p = parts_of("---\ntitle: x\n...\n# Head\n");
    cr_assert_eq(p.n, 1);
    expect_part(&p, 0, "Head", "Head");
    rk_parts_free(&p);
}

Test(markdown, a_dash_line_without_a_closing_one_is_no_front_matter) {
    char *t = text_of("---\nkey: value\n\nText\n");
    cr_assert_str_eq(t, "key: value\n\nText");
    free(t);
}

Test(markdown, atx_and_setext_headings) {
    rk_parts p = parts_of("# Closing hashes ##   \n"
                          "## Keeps C# and #tag #\n"
                          "#5 is no heading\n"
                          "\n"
                          "Setext *one*\n"
                          "===\n"
                          "Setext two\n"
                          "over two lines\n"
                          "---\n"
                          "text\n"
                          "###### Six\n"
                          "####### seven hashes is text\n");
    cr_assert_eq(p.n, 5);
    expect_part(&p, 0, "Closing hashes", "Closing hashes");
    expect_part(&p, 1, "Closing hashes > Keeps C# and #tag", "Keeps C# and #tag\n\n#5 is no heading");
    expect_part(&p, 2, "Setext one", "Setext one");
    expect_part(&p, 3, "Setext one > Setext two over two lines", "Setext two over two lines\n\ntext");
    expect_part(&p, 4, "Setext one > Setext two over two lines > Six", "Six\n\n####### seven hashes is text");
    cr_assert_str_eq(p.title, "Closing hashes");
    rk_parts_free(&p);
}

Test(markdown, heading_paths_follow_levels) {
    rk_parts p = parts_of("Preface text.\n"
                          "\n"
                          "# Guide\n"
                          "Intro.\n"
                          "## Install\n"
                          "Steps.\n"
                          "### Linux\n"
                          "apt.\n"
                          "## Usage\n"
                          "Run it.\n"
                          "### Flags\n"
                          "-v\n"
                          "#### Deep\n"
                          "## Empty section\n"
                          "# Appendix\n"
                          "### Skipped level\n"
                          "Notes.\n");
    cr_assert_eq(p.n, 10);
    expect_part(&p, 0, "", "Preface text.");
    expect_part(&p, 1, "Guide", "Guide\n\nIntro.");
    expect_part(&p, 2, "Guide > Install", "Install\n\nSteps.");
    expect_part(&p, 3, "Guide > Install > Linux", "Linux\n\napt.");
    expect_part(&p, 4, "Guide > Usage", "Usage\n\nRun it.");
    expect_part(&p, 5, "Guide > Usage > Flags", "Flags\n\n-v");
    expect_part(&p, 6, "Guide > Usage > Flags > Deep", "Deep");
    expect_part(&p, 7, "Guide > Empty section", "Empty section");
    expect_part(&p, 8, "Appendix", "Appendix");
    expect_part(&p, 9, "Appendix > Skipped level", "Skipped level\n\nNotes.");
    cr_assert_str_eq(p.title, "Guide");
    rk_parts_free(&p);
}

Test(markdown, headings_lose_their_inline_syntax) {
    rk_parts p = parts_of("## The `rk_*` [API](http://api) **guide**\n");
    cr_assert_eq(p.n, 1);
    expect_part(&p, 0, "The rk_* API guide", "The rk_* API guide");
    cr_assert_str_eq(p.title, "The rk_* API guide", "no level-1 heading: the first heading");
    rk_parts_free(&p);
}

Test(markdown, the_title_is_the_first_level_one_heading) {
    rk_parts p = parts_of("## Second level\n# First level\n# Another\n");
    cr_assert_str_eq(p.title, "First level");
    rk_parts_free(&p);
    p = parts_of("Just text, no heading.\n");
    cr_assert_null(p.title);
    rk_parts_free(&p);
    p = parts_of("```\n# a comment in code\n```\n    # indented code\n");
    cr_assert_null(p.title, "headings in code are code");
    cr_assert_eq(p.n, 1);
    expect_part(&p, 0, "", "# a comment in code\n\n# indented code");
    rk_parts_free(&p);
}

Test(markdown, empty_and_blank_documents_have_no_parts) {
    rk_parts p = parts_of("");
    cr_assert_eq(p.n, 0);
    cr_assert_null(p.title);
    rk_parts_free(&p);
    p = parts_of("\n  \n<!-- only a comment -->\n---\n");
    cr_assert_eq(p.n, 0);
    rk_parts_free(&p);
}

Test(markdown, crlf_and_invalid_bytes_pass_through) {
    char *t = text_of("Line *one*\r\nline \xff two\r\n\r\n- item\r\n");
    cr_assert_str_eq(t, "Line one\nline \xff two\n\nitem");
    free(t);
}

/* A naive scanner reads from each opener to the end of the input: with 200k
 * openers that takes minutes; linear, milliseconds. */
Test(markdown, pathological_input_stays_linear, .timeout = 20) {
    const char *units[] = {"[a](", "![x](y \"", "x<!--", "<a ", "<a b='", "*a _b ", "[", "&#1"};
    for (size_t u = 0; u < sizeof units / sizeof *units; u++) {
        size_t k = strlen(units[u]), reps = 200000;
        char *src = malloc(k * reps + 1);
        for (size_t i = 0; i < reps; i++)
            memcpy(src + i * k, units[u], k);
        src[k * reps] = 0;
        rk_parts p = {0};
        rk_error e = {0};
        cr_assert_eq(rk_markdown_parts(src, k * reps, &p, &e), RK_OK);
        cr_assert_eq(p.n, 1);
        size_t n = k * reps;
        while (src[n - 1] == ' ')
            n--;
        cr_assert(p.v[0].len == n && !memcmp(p.v[0].text, src, n), "%s is all literal text", units[u]);
        rk_parts_free(&p);
        free(src);
    }
}
