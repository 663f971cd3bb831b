/* Unit tests for ingest/html.c: text extraction through libxml2. */
#include "helpers.h"

#include "raftkit/html.h"

static rk_parts parts_of(const char *html) {
    rk_parts p = {0};
    rk_error e = {0};
    cr_assert_eq(rk_html_parts(html, strlen(html), NULL, "page.html", &p, &e), RK_OK, "%s", e.msg);
    return p;
}

Test(html, scripts_styles_and_navigation_are_dropped) {
    rk_parts p = parts_of("<!DOCTYPE html><html><head><title>Tide  Tables</title>"
                          "<style>p { color: red }</style><script>var secret = 1;</script></head>"
                          "<body><nav><a href='/'>Home</a> | <a href='/x'>Menu</a></nav>"
                          "<h1>High water</h1><p>The tide   turns\n at <b>noon</b>.</p>"
                          "<script>alert('no')</script><noscript>enable js</noscript>"
                          "<footer>Copyright 2026</footer></body></html>");
    cr_assert_eq(p.n, 1, "nothing before the heading is left");
    expect_part(&p, 0, "High water", "High water\n\nThe tide turns at noon.\n\n");
    cr_assert_str_eq(p.title, "Tide Tables");
    rk_parts_free(&p);
}

Test(html, nested_lists_and_tables_become_paragraphs) {
    rk_parts p =
        parts_of("<body><ul><li>Ferries<ul><li>Morning boat</li><li>Evening boat</li></ul></li>"
                 "<li>Flights</li></ul><table><tr><th>Day</th><th>Time</th></tr>"
                 "<tr><td>Monday</td><td>09:00</td></tr></table><div>Tail text<br>after break</div></body>");
    cr_assert_eq(p.n, 1);
    expect_part(&p, 0, "",
                "Ferries\n\nMorning boat\n\nEvening boat\n\nFlights\n\nDay Time\n\nMonday 09:00\n\n"
                "Tail text\n\nafter break\n\n");
    cr_assert_null(p.title, "no <title> and no <h1>");
    rk_parts_free(&p);
}

Test(html, first_h1_is_the_title_without_a_title_element) {
    rk_parts p = parts_of("<body><h1>Main <i>heading</i></h1><h1>Other</h1></body>");
    cr_assert_str_eq(p.title, "Main heading");
    cr_assert_eq(p.n, 2);
    expect_part(&p, 0, "Main heading", "Main heading\n\n");
    expect_part(&p, 1, "Other", "Other\n\n");
    rk_parts_free(&p);
}

Test(html, declared_charset_is_decoded_to_utf8) {
    rk_parts p =
        parts_of("<html><head><meta charset=\"iso-8859-1\"></head><body><p>caf\xe9</p></body></html>");
    cr_assert_eq(p.n, 1);
    expect_part(&p, 0, "", "caf\xc3\xa9\n\n");
    rk_parts_free(&p);
    p = parts_of("<html><body><h2>\xc3\x85pen</h2><p>S\xc3\xb8rvik \xe2\x82\xac</p></body></html>");
    cr_assert_eq(p.n, 1, "undeclared pages are read as UTF-8");
    expect_part(&p, 0, "\xc3\x85pen", "\xc3\x85pen\n\nS\xc3\xb8rvik \xe2\x82\xac\n\n");
    rk_parts_free(&p);
    const char *declared = "<html><head><meta charset=\"utf-8\"></head><body><p>caf\xe9</p></body></html>";
    rk_error e = {0};
    cr_assert_eq(rk_html_parts(declared, strlen(declared), "iso-8859-1", "page.html", &p, &e), RK_OK);
    cr_assert_eq(p.n, 1);
    expect_part(&p, 0, "", "caf\xc3\xa9\n\n"); /* the charset given wins over the page's */
    rk_parts_free(&p);
}

Test(html, whitespace_between_inline_elements_separates_words) {
    rk_parts p =
        parts_of("<p>Theme <select><option>Auto</option> <option>Light</option>\n<option>Dark</option>"
                 "</select> <img src=x.png> <span>end</span></p>");
    cr_assert_eq(p.n, 1);
    expect_part(&p, 0, "", "Theme Auto Light Dark end\n\n");
    rk_parts_free(&p);
}

/* Text is copied eight bytes at a time where it can be: every kind of
 * whitespace run, at every offset, must still collapse to one space. */
Test(html, whitespace_runs_collapse_at_every_offset) {
    static const char *const breaks[] = {" ", "  ", "\t", "\n", " \n ", "\r\n", " \t", "\n\n\n"};
    for (size_t b = 0; b < sizeof breaks / sizeof *breaks; b++)
        for (int k = 0; k < 16; k++) {
            const char *br = breaks[b];
            char html[256], want[256];
            snprintf(html, sizeof html, "<p>%.*salpha%sbeta gamma delta%sS\xc3\xb8rvik tide%sepsilon</p>", k,
                     "xxxxxxxxxxxxxxxx", br, br, br);
            snprintf(want, sizeof want, "%.*salpha beta gamma delta S\xc3\xb8rvik tide epsilon\n\n", k,
                     "xxxxxxxxxxxxxxxx");
            rk_parts p = parts_of(html);
            cr_assert_eq(p.n, 1);
            cr_assert_str_eq(p.v[0].text, want, "break %zu at offset %d", b, k);
            rk_parts_free(&p);
        }
}

Test(html, broken_markup_is_repaired) {
    rk_parts p = parts_of("<p>one<p>two <b>bold<i>both</b> end");
    cr_assert_eq(p.n, 1);
    expect_part(&p, 0, "", "one\n\ntwo boldboth end\n\n");
    rk_parts_free(&p);
}

Test(html, headings_start_parts_titled_by_their_path) {
    rk_parts p = parts_of("<html><head><title>Harbour</title><script>var h = '<h1>no</h1>';</script></head>"
                          "<body><p>Before any   heading.</p>"
                          "<h1>Harbour <em>guide</em></h1><p>Welcome.</p>"
                          "<h2>Ferries</h2><ul><li>Morning<ul><li>07:15</li><li>08:30</li></ul></li>"
                          "<li>Evening</li></ul><script>document.write('<h2>fake</h2>')</script>"
                          "<h3>Fares</h3><p>Adults <b>12</b> euros.</p>"
                          "<h2>Flights</h2><p>None in winter.</p>"
                          "<div><h4>Deep <br>note</h4>Skipped levels.</div>"
                          "<h1>Contact</h1><h3></h3><p>Under an empty heading.</p></body></html>");
    cr_assert_eq(p.n, 8);
    expect_part(&p, 0, "", "Before any heading.\n\n");
    expect_part(&p, 1, "Harbour guide", "Harbour guide\n\nWelcome.\n\n");
    expect_part(&p, 2, "Harbour guide > Ferries", "Ferries\n\nMorning\n\n07:15\n\n08:30\n\nEvening\n\n");
    expect_part(&p, 3, "Harbour guide > Ferries > Fares", "Fares\n\nAdults 12 euros.\n\n");
    expect_part(&p, 4, "Harbour guide > Flights", "Flights\n\nNone in winter.\n\n");
    expect_part(&p, 5, "Harbour guide > Flights > Deep note", "Deep note\n\nSkipped levels.\n\n");
    expect_part(&p, 6, "Contact", "Contact\n\n");
    expect_part(&p, 7, "Contact", "Under an empty heading.\n\n");
    cr_assert_str_eq(p.title, "Harbour");
    rk_parts_free(&p);
}

Test(html, headings_in_dropped_elements_start_no_part) {
    rk_parts p = parts_of("<body><nav><h1>Site menu</h1><h2>Sections</h2></nav>"
                          "<h2>Real</h2><p>Text.</p>"
                          "<footer><h2>Footer</h2><p>Legal.</p></footer>"
                          "<template><h2>Template</h2></template>"
                          "<p>More text.</p></body>");
    cr_assert_eq(p.n, 1);
    expect_part(&p, 0, "Real", "Real\n\nText.\n\nMore text.\n\n");
    cr_assert_null(p.title, "the <h1> in <nav> is not the title either");
    rk_parts_free(&p);
}
