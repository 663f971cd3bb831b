/* Unit tests for ingest/html.c: text extraction through libxml2. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "raftkit/html.h"

static char *text_of(const char *html, char **title) {
    rk_parts p = {0};
    rk_error e = {0};
    cr_assert_eq(rk_html_parts(html, strlen(html), NULL, "page.html", &p, &e), RK_OK, "%s", e.msg);
    char *text = p.n ? strdup(p.v[0].text) : strdup("");
    *title = p.title;
    p.title = NULL;
    rk_parts_free(&p);
    return text;
}

Test(html, scripts_styles_and_navigation_are_dropped) {
    const char *page = "<!DOCTYPE html><html><head><title>Tide  Tables</title>"
                       "<style>p { color: red }</style><script>var secret = 1;</script></head>"
                       "<body><nav><a href='/'>Home</a> | <a href='/x'>Menu</a></nav>"
                       "<h1>High water</h1><p>The tide   turns\n at <b>noon</b>.</p>"
                       "<script>alert('no')</script><noscript>enable js</noscript>"
                       "<footer>Copyright 2026</footer></body></html>";
    char *title = NULL, *t = text_of(page, &title);
    cr_assert_str_eq(t, "High water\n\nThe tide turns at noon.\n\n");
    cr_assert_str_eq(title, "Tide Tables");
    free(t);
    free(title);
}

Test(html, nested_lists_and_tables_become_paragraphs) {
    const char *page =
        "<body><ul><li>Ferries<ul><li>Morning boat</li><li>Evening boat</li></ul></li>"
        "<li>Flights</li></ul><table><tr><th>Day</th><th>Time</th></tr>"
        "<tr><td>Monday</td><td>09:00</td></tr></table><div>Tail text<br>after break</div></body>";
    char *title = NULL, *t = text_of(page, &title);
    cr_assert_str_eq(t, "Ferries\n\nMorning boat\n\nEvening boat\n\nFlights\n\nDay Time\n\nMonday 09:00\n\n"
                        "Tail text\n\nafter break\n\n");
    cr_assert_null(title, "no <title> and no <h1>");
    free(t);
}

Test(html, first_h1_is_the_title_without_a_title_element) {
    char *title = NULL, *t = text_of("<body><h1>Main <i>heading</i></h1><h1>Other</h1></body>", &title);
    cr_assert_str_eq(title, "Main heading");
    free(t);
    free(title);
}

Test(html, declared_charset_is_decoded_to_utf8) {
    const char *latin1 = "<html><head><meta charset=\"iso-8859-1\"></head><body><p>caf\xe9</p></body></html>";
    char *title = NULL, *t = text_of(latin1, &title);
    cr_assert_str_eq(t, "caf\xc3\xa9\n\n");
    free(t);
    const char *utf8 = "<html><body><p>S\xc3\xb8rvik \xe2\x82\xac</p></body></html>";
    t = text_of(utf8, &title);
    cr_assert_str_eq(t, "S\xc3\xb8rvik \xe2\x82\xac\n\n", "undeclared pages are read as UTF-8");
    free(t);
}

Test(html, broken_markup_is_repaired) {
    char *title = NULL, *t = text_of("<p>one<p>two <b>bold<i>both</b> end", &title);
    cr_assert_str_eq(t, "one\n\ntwo boldboth end\n\n");
    free(t);
}
