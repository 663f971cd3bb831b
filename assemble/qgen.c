/* qgen.c — the offline question generator of qgen.h: factoid questions made
 * by rewriting a chunk's own sentences, with no model and no NLP library.
 *
 * The chunk is split into sentences (rk_text_sentences) and each sentence
 * into tokens (words, numbers, punctuation marks); each word is looked up
 * once in a small lexicon (function words, units, months, irregular
 * verbs, organisation words, given names). A clause is then read as
 *
 *     [introduction,] subject [, appositive,] [adverbs] verb group rest
 *
 * where the rest runs to the first comma, parenthesis or coordinated clause.
 * That shape gives the questions:
 *  - a proper-noun subject becomes Who or What ("Who founded the station?");
 *  - a date in the rest or in the introduction becomes When (Since when,
 *    Until when, By when), the auxiliary moved before the subject or, without
 *    one, do-support with the verb's base form ("When did the consortium add
 *    a laboratory wing?");
 *  - a number with its unit or counted noun becomes How many, How much,
 *    How long, How often or What <measure> ("How long is the vessel?");
 *  - a proper name after a copula becomes What/Who is <subject>?, and one as
 *    the object or a passive's agent What/Who ... (Where after on, in, at
 *    for the names of places and firms);
 *  - glossary lines ("Term: the ..."), acronym definitions ("... (RAG)") and
 *    "A X is a Y ..." sentences give the term they define.
 * A pronoun subject (or a possessive "its", "her" before it) is replaced by
 * the subject of the previous clause of the paragraph when they agree in
 * person and number; otherwise the clause gives nothing. Whatever the rules
 * are unsure of (a verb form whose base form is unclear, a coordination, a
 * range, a subject that may or may not be a person) is skipped: a missing
 * question costs less than a wrong one.
 *
 * Questions are ranked by the strength of their pattern (dates, numbers and
 * proper-noun subjects first), and each sentence gives its best question
 * before any sentence gives a second one.
 *
 * Cost: one tokenizing pass over the chunk, one hash lookup per word, and
 * per clause a few scans bounded by MAX_SENT_TOKENS (longer sentences are
 * not read), so the work is linear in the chunk (about 30 us for 1 KB). No
 * state outlives a call but the lexicon's hash index, built once.
 *
 * Not for questions that need understanding (why, how, comparisons): those
 * come from a model (gen.h). */
#include "raftkit/qgen.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <utf8proc.h>

#include "raftkit/chunk.h"
#include "raftkit/hash.h"

#define NONE ((size_t)-1)
#define MAX_SENT_TOKENS 96 /* longer sentences make questions nobody asks */
#define MAX_Q_WORDS 32
#define MAX_ANSWER_WORDS 8

/* Lexicon classes: a word can have several. */
enum {
    W_DET = 1ull << 0,     /* the, a, each, its, some */
    W_ART = 1ull << 1,     /* the, a, an */
    W_POSS = 1ull << 2,    /* its, his, her, their */
    W_PREP = 1ull << 3,    /* in, on, of, since */
    W_BE = 1ull << 4,      /* is, was, been */
    W_HAVE = 1ull << 5,    /* has, have, had */
    W_DO = 1ull << 6,      /* does, do, did */
    W_MODAL = 1ull << 7,   /* can, will, must */
    W_PRON = 1ull << 8,    /* subject pronouns and existential "there" */
    W_PRONO = 1ull << 9,   /* object pronouns */
    W_CONJ = 1ull << 10,   /* and, or, but */
    W_SUB = 1ull << 11,    /* because, when, although */
    W_WH = 1ull << 12,     /* who, which, that */
    W_ADV = 1ull << 13,    /* adverbs found inside verb groups: also, first, usually, not */
    W_INTRO = 1ull << 14,  /* adverbs that can open a sentence: today, together */
    W_NUMW = 1ull << 15,   /* two .. ninety, hundred, dozen ("one" is a pronoun too often) */
    W_SCALE = 1ull << 16,  /* hundred, thousand, million */
    W_MONTH = 1ull << 17,  /* january .. december */
    W_TIMEU = 1ull << 18,  /* second .. century */
    W_UNIT = 1ull << 19,   /* units of measure, time and money */
    W_CUR = 1ull << 20,    /* currencies */
    W_MADJ = 1ull << 21,   /* long, wide, deep: "31.5 metres long" */
    W_APPROX = 1ull << 22, /* about, around, only; more, less, fewer, up (than, to) */
    W_TITLE = 1ull << 23,  /* Dr., Professor, Captain */
    W_ORG = 1ull << 24,    /* words of organisation names: Sons, University, Observatory */
    W_ROLE = 1ull << 25,   /* what a person is: director, engineer, physicist */
    W_PERSV = 1ull << 26,  /* base forms of verbs whose subject is a person: found, marry */
    W_NOUN = 1ull << 27,   /* nouns and adverbs that look like verbs: species, speed, always */
    W_PERIOD = 1ull << 28, /* "the spring of 1962", "the night of 14 January 1993" */
    W_DECMOD = 1ull << 29, /* "the late 1980s" */
    W_MEASN = 1ull << 30,  /* "a maximum depth of 38 metres" */
    W_COLL = 1ull << 31,   /* "a crew of seven" */
    W_PLUR = 1ull << 32,   /* plurals without -s: people, staff, data */
    W_VESSEL = 1ull << 33, /* ship, vessel, RV: "she" may stand for them */
    W_TIMES = 1ull << 34,  /* "four times a year" */
    W_FREQ = 1ull << 35,   /* once, twice */
    W_PAST = 1ull << 36,   /* irregular simple past (lemma given) */
    W_PART = 1ull << 37,   /* irregular past participle (lemma given) */
    W_BASE = 1ull << 38,   /* common verbs in their base form: cost, pay, take */
    W_GIVEN = 1ull << 39,  /* given names */
    W_PLACE = 1ull << 40,  /* words of place names: Harbour, Hill, Row, Sound */
    W_THING = 1ull << 41,  /* other heads of names that are not people's: Census, Festival */
};

/* Words that end a noun phrase or cannot be one. */
#define W_FUNC                                                                                               \
    (W_DET | W_POSS | W_PREP | W_BE | W_HAVE | W_DO | W_MODAL | W_PRON | W_PRONO | W_CONJ | W_SUB | W_WH |   \
     W_ADV | W_TIMES)
#define W_AUX (W_BE | W_HAVE | W_DO | W_MODAL)

typedef struct lex_entry {
    const char *w; /* lower case */
    uint64_t cls;
    const char *lemma; /* irregular verbs: the base form */
} lex_entry;

/* The lexicon, in strcmp order (for people; lookups go through LEX_SLOT). */
static const lex_entry LEX[] = {
    {"a", W_ART | W_DET, NULL},
    {"aaron", W_GIVEN, NULL},
    {"ab", W_ORG, NULL},
    {"abigail", W_GIVEN, NULL},
    {"about", W_APPROX | W_PREP, NULL},
    {"above", W_PREP, NULL},
    {"academy", W_ORG, NULL},
    {"acre", W_UNIT, NULL},
    {"acres", W_UNIT, NULL},
    {"across", W_MADJ | W_PREP, NULL},
    {"actually", W_ADV, NULL},
    {"adam", W_GIVEN, NULL},
    {"adrian", W_GIVEN, NULL},
    {"after", W_PREP | W_SUB, NULL},
    {"afternoon", W_PERIOD, NULL},
    {"afterwards", W_ADV | W_INTRO | W_NOUN, NULL},
    {"again", W_ADV, NULL},
    {"against", W_PREP, NULL},
    {"agency", W_ORG, NULL},
    {"agnes", W_GIVEN, NULL},
    {"ahmed", W_GIVEN, NULL},
    {"airport", W_PLACE, NULL},
    {"aisha", W_GIVEN, NULL},
    {"alan", W_GIVEN, NULL},
    {"albert", W_GIVEN, NULL},
    {"alexander", W_GIVEN, NULL},
    {"alice", W_GIVEN, NULL},
    {"alina", W_GIVEN, NULL},
    {"all", W_DET, NULL},
    {"almost", W_APPROX, NULL},
    {"along", W_PREP, NULL},
    {"already", W_ADV, NULL},
    {"also", W_ADV, NULL},
    {"although", W_SUB, NULL},
    {"altitude", W_MEASN, NULL},
    {"always", W_ADV | W_NOUN, NULL},
    {"am", W_BE, NULL},
    {"amelia", W_GIVEN, NULL},
    {"amid", W_PREP, NULL},
    {"among", W_PREP, NULL},
    {"amy", W_GIVEN, NULL},
    {"an", W_ART | W_DET, NULL},
    {"ana", W_GIVEN, NULL},
    {"and", W_CONJ, NULL},
    {"anders", W_GIVEN, NULL},
    {"andrea", W_GIVEN, NULL},
    {"andrew", W_GIVEN, NULL},
    {"anna", W_GIVEN, NULL},
    {"anne", W_GIVEN, NULL},
    {"annika", W_GIVEN, NULL},
    {"annually", W_ADV, NULL},
    {"another", W_DET, NULL},
    {"antonio", W_GIVEN, NULL},
    {"any", W_DET, NULL},
    {"apprentice", W_ROLE, NULL},
    {"approximately", W_APPROX, NULL},
    {"april", W_MONTH, NULL},
    {"architect", W_ROLE, NULL},
    {"archive", W_ORG, NULL},
    {"archivist", W_ROLE, NULL},
    {"are", W_BE, NULL},
    {"area", W_MEASN, NULL},
    {"arena", W_PLACE, NULL},
    {"argue", W_PERSV, NULL},
    {"arisen", W_PART, "arise"},
    {"arne", W_GIVEN, NULL},
    {"arose", W_PAST, "arise"},
    {"around", W_APPROX | W_PREP, NULL},
    {"arrive", W_BASE, NULL},
    {"artist", W_ROLE, NULL},
    {"as", W_PREP | W_SUB, NULL},
    {"association", W_ORG, NULL},
    {"astrid", W_GIVEN, NULL},
    {"at", W_PREP, NULL},
    {"ate", W_PAST, "eat"},
    {"atlas", W_NOUN, NULL},
    {"august", W_MONTH, NULL},
    {"author", W_ROLE, NULL},
    {"authority", W_ORG, NULL},
    {"autumn", W_PERIOD, NULL},
    {"ava", W_GIVEN, NULL},
    {"avenue", W_PLACE, NULL},
    {"bank", W_ORG, NULL},
    {"barbara", W_GIVEN, NULL},
    {"bay", W_PLACE, NULL},
    {"be", W_BE, NULL},
    {"beach", W_PLACE, NULL},
    {"beam", W_MEASN, NULL},
    {"beatrice", W_GIVEN, NULL},
    {"became", W_PART | W_PAST, "become"},
    {"because", W_SUB, NULL},
    {"become", W_PART, "become"},
    {"bed", W_NOUN, NULL},
    {"been", W_BE | W_PART, "be"},
    {"before", W_PREP | W_SUB, NULL},
    {"began", W_PAST, "begin"},
    {"begin", W_BASE, NULL},
    {"beginning", W_PERIOD, NULL},
    {"begun", W_PART, "begin"},
    {"behind", W_PREP, NULL},
    {"being", W_BE, NULL},
    {"believe", W_PERSV, NULL},
    {"beloved", W_NOUN, NULL},
    {"below", W_PREP, NULL},
    {"ben", W_GIVEN, NULL},
    {"beneath", W_PREP, NULL},
    {"benjamin", W_GIVEN, NULL},
    {"bent", W_PART | W_PAST, "bend"},
    {"bernard", W_GIVEN, NULL},
    {"beside", W_PREP, NULL},
    {"besides", W_NOUN | W_PREP, NULL},
    {"between", W_PREP, NULL},
    {"beyond", W_PREP, NULL},
    {"billion", W_NUMW | W_SCALE, NULL},
    {"biologist", W_ROLE, NULL},
    {"bjorn", W_GIVEN, NULL},
    {"blew", W_PAST, "blow"},
    {"blown", W_PART, "blow"},
    {"board", W_ORG, NULL},
    {"boat", W_VESSEL, NULL},
    {"bore", W_PAST, "bear"},
    {"born", W_PART, "bear"},
    {"both", W_DET, NULL},
    {"bought", W_PART | W_PAST, "buy"},
    {"bred", W_PART | W_PAST, "breed"},
    {"breed", W_BASE | W_NOUN, NULL},
    {"brian", W_GIVEN, NULL},
    {"bridge", W_PLACE, NULL},
    {"bridget", W_GIVEN, NULL},
    {"broadcast", W_PART | W_PAST, "broadcast"},
    {"broke", W_PAST, "break"},
    {"broken", W_PART, "break"},
    {"brother", W_TITLE, NULL},
    {"brothers", W_ORG, NULL},
    {"brought", W_PART | W_PAST, "bring"},
    {"built", W_PART | W_PAST, "build"},
    {"burnt", W_PART | W_PAST, "burn"},
    {"burst", W_PART | W_PAST, "burst"},
    {"bus", W_NOUN, NULL},
    {"but", W_CONJ, NULL},
    {"by", W_PREP, NULL},
    {"byte", W_UNIT, NULL},
    {"bytes", W_UNIT, NULL},
    {"cable", W_THING, NULL},
    {"cafe", W_ORG, NULL},
    {"café", W_ORG, NULL},
    {"came", W_PAST, "come"},
    {"camille", W_GIVEN, NULL},
    {"campus", W_NOUN, NULL},
    {"can", W_MODAL, NULL},
    {"canvas", W_NOUN, NULL},
    {"capacity", W_MEASN, NULL},
    {"cape", W_PLACE, NULL},
    {"capt", W_TITLE, NULL},
    {"capt.", W_TITLE, NULL},
    {"captain", W_ROLE | W_TITLE, NULL},
    {"carl", W_GIVEN, NULL},
    {"carla", W_GIVEN, NULL},
    {"carlos", W_GIVEN, NULL},
    {"caroline", W_GIVEN, NULL},
    {"carry", W_BASE, NULL},
    {"cast", W_PART | W_PAST, "cast"},
    {"castle", W_PLACE, NULL},
    {"catherine", W_GIVEN, NULL},
    {"cattle", W_PLUR, NULL},
    {"caught", W_PART | W_PAST, "catch"},
    {"census", W_THING, NULL},
    {"cent", W_CUR | W_UNIT, NULL},
    {"center", W_ORG, NULL},
    {"centimeter", W_UNIT, NULL},
    {"centimeters", W_UNIT, NULL},
    {"centimetre", W_UNIT, NULL},
    {"centimetres", W_UNIT, NULL},
    {"centre", W_ORG, NULL},
    {"cents", W_CUR | W_UNIT, NULL},
    {"centuries", W_TIMEU | W_UNIT, NULL},
    {"century", W_TIMEU | W_UNIT, NULL},
    {"chair", W_ROLE, NULL},
    {"chairman", W_ROLE, NULL},
    {"chairwoman", W_ROLE, NULL},
    {"champion", W_PERSV, NULL},
    {"channel", W_PLACE, NULL},
    {"chaos", W_NOUN, NULL},
    {"charles", W_GIVEN, NULL},
    {"charlotte", W_GIVEN, NULL},
    {"chemist", W_ROLE, NULL},
    {"chief", W_ROLE, NULL},
    {"children", W_PLUR, NULL},
    {"chloe", W_GIVEN, NULL},
    {"chose", W_PAST, "choose"},
    {"chosen", W_PART, "choose"},
    {"christian", W_GIVEN, NULL},
    {"christina", W_GIVEN, NULL},
    {"church", W_PLACE, NULL},
    {"city", W_PLACE, NULL},
    {"claim", W_PERSV, NULL},
    {"claire", W_GIVEN, NULL},
    {"clara", W_GIVEN, NULL},
    {"clinic", W_ORG, NULL},
    {"club", W_ORG, NULL},
    {"clung", W_PART | W_PAST, "cling"},
    {"cm", W_UNIT, NULL},
    {"co", W_ORG, NULL},
    {"co.", W_ORG, NULL},
    {"coast", W_PLACE, NULL},
    {"college", W_ORG, NULL},
    {"come", W_BASE | W_PART, "come"},
    {"commander", W_ROLE, NULL},
    {"commission", W_ORG, NULL},
    {"committee", W_ORG, NULL},
    {"company", W_ORG, NULL},
    {"compose", W_PERSV, NULL},
    {"composer", W_ROLE, NULL},
    {"consortium", W_ORG, NULL},
    {"contain", W_BASE, NULL},
    {"coordinator", W_ROLE, NULL},
    {"corp", W_ORG, NULL},
    {"corp.", W_ORG, NULL},
    {"corporation", W_ORG, NULL},
    {"cost", W_BASE, NULL},
    {"could", W_MODAL, NULL},
    {"council", W_ORG, NULL},
    {"county", W_PLACE, NULL},
    {"court", W_ORG, NULL},
    {"cover", W_BASE, NULL},
    {"creed", W_NOUN, NULL},
    {"crew", W_COLL | W_PLUR, NULL},
    {"curator", W_ROLE, NULL},
    {"currently", W_ADV | W_INTRO, NULL},
    {"custodian", W_ROLE, NULL},
    {"cut", W_PART | W_PAST, "cut"},
    {"daily", W_ADV, NULL},
    {"dame", W_TITLE, NULL},
    {"daniel", W_GIVEN, NULL},
    {"data", W_PLUR, NULL},
    {"david", W_GIVEN, NULL},
    {"day", W_PERIOD | W_TIMEU | W_UNIT, NULL},
    {"days", W_TIMEU | W_UNIT, NULL},
    {"dealt", W_PART | W_PAST, "deal"},
    {"dean", W_ROLE, NULL},
    {"decade", W_TIMEU | W_UNIT, NULL},
    {"decades", W_TIMEU | W_UNIT, NULL},
    {"december", W_MONTH, NULL},
    {"deed", W_NOUN, NULL},
    {"deep", W_MADJ, NULL},
    {"deepline", W_THING, NULL},
    {"deer", W_PLUR, NULL},
    {"degree", W_UNIT, NULL},
    {"degrees", W_UNIT, NULL},
    {"density", W_MEASN, NULL},
    {"department", W_ORG, NULL},
    {"depth", W_MEASN, NULL},
    {"despite", W_PREP, NULL},
    {"diameter", W_MEASN, NULL},
    {"diana", W_GIVEN, NULL},
    {"did", W_DO, NULL},
    {"die", W_PERSV, NULL},
    {"direct", W_PERSV, NULL},
    {"director", W_ROLE, NULL},
    {"discover", W_PERSV, NULL},
    {"distance", W_MEASN, NULL},
    {"district", W_PLACE, NULL},
    {"dive", W_BASE, NULL},
    {"dkk", W_CUR | W_UNIT, NULL},
    {"dmitri", W_GIVEN, NULL},
    {"do", W_DO, NULL},
    {"doctor", W_ROLE, NULL},
    {"does", W_DO, NULL},
    {"dollar", W_CUR | W_UNIT, NULL},
    {"dollars", W_CUR | W_UNIT, NULL},
    {"done", W_PART, "do"},
    {"downstairs", W_NOUN, NULL},
    {"dozen", W_NUMW, NULL},
    {"dr", W_TITLE, NULL},
    {"dr.", W_TITLE, NULL},
    {"draft", W_MEASN, NULL},
    {"draught", W_MEASN, NULL},
    {"drawn", W_PART, "draw"},
    {"dreamt", W_PART | W_PAST, "dream"},
    {"drew", W_PAST, "draw"},
    {"drift", W_BASE, NULL},
    {"driven", W_PART, "drive"},
    {"drove", W_PAST, "drive"},
    {"dug", W_PART | W_PAST, "dig"},
    {"during", W_PREP, NULL},
    {"each", W_DET, NULL},
    {"early", W_DECMOD, NULL},
    {"east", W_PLACE, NULL},
    {"eastern", W_PLACE, NULL},
    {"eaten", W_PART, "eat"},
    {"ecologist", W_ROLE, NULL},
    {"editor", W_ROLE, NULL},
    {"edward", W_GIVEN, NULL},
    {"eight", W_NUMW, NULL},
    {"eighteen", W_NUMW, NULL},
    {"eighty", W_NUMW, NULL},
    {"either", W_DET, NULL},
    {"eleanor", W_GIVEN, NULL},
    {"electrician", W_ROLE, NULL},
    {"elena", W_GIVEN, NULL},
    {"elevation", W_MEASN, NULL},
    {"eleven", W_NUMW, NULL},
    {"elias", W_GIVEN, NULL},
    {"elin", W_GIVEN, NULL},
    {"elizabeth", W_GIVEN, NULL},
    {"ella", W_GIVEN, NULL},
    {"ellen", W_GIVEN, NULL},
    {"emil", W_GIVEN, NULL},
    {"emily", W_GIVEN, NULL},
    {"emma", W_GIVEN, NULL},
    {"end", W_PERIOD, NULL},
    {"engineer", W_ROLE, NULL},
    {"erik", W_GIVEN, NULL},
    {"erika", W_GIVEN, NULL},
    {"eur", W_CUR | W_UNIT, NULL},
    {"euro", W_CUR | W_UNIT, NULL},
    {"euros", W_CUR | W_UNIT, NULL},
    {"eva", W_GIVEN, NULL},
    {"even", W_ADV, NULL},
    {"evening", W_PERIOD, NULL},
    {"eventually", W_ADV | W_INTRO, NULL},
    {"ever", W_ADV, NULL},
    {"every", W_DET, NULL},
    {"except", W_PREP, NULL},
    {"fall", W_PERIOD, NULL},
    {"fallen", W_PART, "fall"},
    {"father", W_TITLE, NULL},
    {"fatima", W_GIVEN, NULL},
    {"february", W_MONTH, NULL},
    {"fed", W_PART | W_PAST, "feed"},
    {"feed", W_BASE | W_NOUN, NULL},
    {"feet", W_PLUR | W_UNIT, NULL},
    {"felix", W_GIVEN, NULL},
    {"fell", W_PAST, "fall"},
    {"felt", W_PART | W_PAST, "feel"},
    {"fenna", W_GIVEN, NULL},
    {"ferry", W_VESSEL, NULL},
    {"festival", W_THING, NULL},
    {"few", W_DET, NULL},
    {"fewer", W_APPROX, NULL},
    {"fifteen", W_NUMW, NULL},
    {"fifty", W_NUMW, NULL},
    {"finally", W_ADV | W_INTRO, NULL},
    {"finn", W_GIVEN, NULL},
    {"fiona", W_GIVEN, NULL},
    {"first", W_ADV, NULL},
    {"fish", W_PLUR, NULL},
    {"five", W_NUMW, NULL},
    {"fjord", W_PLACE, NULL},
    {"fled", W_PART | W_PAST, "flee"},
    {"fleet", W_COLL | W_THING, NULL},
    {"flew", W_PAST, "fly"},
    {"flown", W_PART, "fly"},
    {"flung", W_PART | W_PAST, "fling"},
    {"follow", W_BASE, NULL},
    {"foot", W_UNIT, NULL},
    {"for", W_PREP, NULL},
    {"forbade", W_PAST, "forbid"},
    {"forbidden", W_PART, "forbid"},
    {"forest", W_PLACE, NULL},
    {"forgot", W_PAST, "forget"},
    {"forgotten", W_PART, "forget"},
    {"form", W_BASE, NULL},
    {"formally", W_ADV, NULL},
    {"formerly", W_ADV | W_INTRO, NULL},
    {"forty", W_NUMW, NULL},
    {"fought", W_PART | W_PAST, "fight"},
    {"found", W_PART | W_PAST | W_PERSV, "find"},
    {"foundation", W_ORG, NULL},
    {"founder", W_ROLE, NULL},
    {"four", W_NUMW, NULL},
    {"fourteen", W_NUMW, NULL},
    {"franc", W_CUR | W_UNIT, NULL},
    {"francs", W_CUR | W_UNIT, NULL},
    {"frank", W_GIVEN, NULL},
    {"franz", W_GIVEN, NULL},
    {"freya", W_GIVEN, NULL},
    {"frida", W_GIVEN, NULL},
    {"from", W_PREP, NULL},
    {"froze", W_PAST, "freeze"},
    {"frozen", W_PART, "freeze"},
    {"fully", W_ADV, NULL},
    {"fund", W_ORG, NULL},
    {"fv", W_VESSEL, NULL},
    {"gale", W_THING, NULL},
    {"garden", W_PLACE, NULL},
    {"gardens", W_PLACE, NULL},
    {"gas", W_NOUN, NULL},
    {"gave", W_PAST, "give"},
    {"gb", W_UNIT, NULL},
    {"gbp", W_CUR | W_UNIT, NULL},
    {"geese", W_PLUR, NULL},
    {"generally", W_ADV, NULL},
    {"generate", W_BASE, NULL},
    {"geologist", W_ROLE, NULL},
    {"george", W_GIVEN, NULL},
    {"gerhard", W_GIVEN, NULL},
    {"get", W_BASE, NULL},
    {"ghz", W_UNIT, NULL},
    {"gigabytes", W_UNIT, NULL},
    {"give", W_BASE, NULL},
    {"given", W_PART, "give"},
    {"glacier", W_PLACE, NULL},
    {"gmbh", W_ORG, NULL},
    {"gneiss", W_THING, NULL},
    {"go", W_BASE, NULL},
    {"gone", W_PART, "go"},
    {"got", W_PART | W_PAST, "get"},
    {"governor", W_ROLE, NULL},
    {"grace", W_GIVEN, NULL},
    {"graduate", W_PERSV, NULL},
    {"gram", W_UNIT, NULL},
    {"grams", W_UNIT, NULL},
    {"greed", W_NOUN, NULL},
    {"grew", W_PAST, "grow"},
    {"group", W_COLL | W_ORG, NULL},
    {"grow", W_BASE, NULL},
    {"grown", W_PART, "grow"},
    {"guardian", W_ROLE, NULL},
    {"gulf", W_PLACE, NULL},
    {"gunnar", W_GIVEN, NULL},
    {"gustav", W_GIVEN, NULL},
    {"gw", W_UNIT, NULL},
    {"gwh", W_UNIT, NULL},
    {"had", W_HAVE | W_PART | W_PAST, "have"},
    {"hall", W_PLACE, NULL},
    {"hannah", W_GIVEN, NULL},
    {"hans", W_GIVEN, NULL},
    {"harald", W_GIVEN, NULL},
    {"harbor", W_PLACE, NULL},
    {"harbour", W_PLACE, NULL},
    {"harriet", W_GIVEN, NULL},
    {"has", W_HAVE, NULL},
    {"have", W_BASE | W_HAVE, NULL},
    {"having", W_HAVE, NULL},
    {"he", W_PRON, NULL},
    {"head", W_ROLE, NULL},
    {"heard", W_PART | W_PAST, "hear"},
    {"heavy", W_MADJ, NULL},
    {"hectare", W_UNIT, NULL},
    {"hectares", W_UNIT, NULL},
    {"height", W_MEASN, NULL},
    {"held", W_PART | W_PAST, "hold"},
    {"helen", W_GIVEN, NULL},
    {"helena", W_GIVEN, NULL},
    {"henrik", W_GIVEN, NULL},
    {"henry", W_GIVEN, NULL},
    {"her", W_DET | W_POSS, NULL},
    {"hidden", W_PART, "hide"},
    {"high", W_MADJ, NULL},
    {"hilde", W_GIVEN, NULL},
    {"hill", W_PLACE, NULL},
    {"hills", W_PLACE, NULL},
    {"him", W_PRONO, NULL},
    {"his", W_DET | W_POSS, NULL},
    {"historian", W_ROLE, NULL},
    {"historically", W_ADV | W_INTRO, NULL},
    {"hit", W_PART | W_PAST, "hit"},
    {"hms", W_VESSEL, NULL},
    {"hold", W_BASE, NULL},
    {"hospital", W_ORG, NULL},
    {"host", W_ROLE, NULL},
    {"hotel", W_ORG, NULL},
    {"hour", W_TIMEU | W_UNIT, NULL},
    {"hours", W_TIMEU | W_UNIT, NULL},
    {"house", W_PLACE, NULL},
    {"how", W_WH, NULL},
    {"hq", W_ORG, NULL},
    {"hugo", W_GIVEN, NULL},
    {"hundred", W_NUMW | W_SCALE, NULL},
    {"hung", W_PART | W_PAST, "hang"},
    {"hunt", W_BASE, NULL},
    {"hurt", W_PART | W_PAST, "hurt"},
    {"hydrographer", W_ROLE, NULL},
    {"hz", W_UNIT, NULL},
    {"i", W_PRON, NULL},
    {"ian", W_GIVEN, NULL},
    {"ida", W_GIVEN, NULL},
    {"if", W_SUB, NULL},
    {"immediately", W_ADV, NULL},
    {"in", W_PREP, NULL},
    {"inc", W_ORG, NULL},
    {"inc.", W_ORG, NULL},
    {"inch", W_UNIT, NULL},
    {"inches", W_UNIT, NULL},
    {"include", W_BASE, NULL},
    {"indoors", W_NOUN, NULL},
    {"industries", W_ORG, NULL},
    {"ingrid", W_GIVEN, NULL},
    {"initially", W_ADV | W_INTRO, NULL},
    {"inside", W_PREP, NULL},
    {"institute", W_ORG, NULL},
    {"institution", W_ORG, NULL},
    {"into", W_PREP, NULL},
    {"invent", W_PERSV, NULL},
    {"is", W_BE, NULL},
    {"isaac", W_GIVEN, NULL},
    {"isabel", W_GIVEN, NULL},
    {"isabella", W_GIVEN, NULL},
    {"island", W_PLACE, NULL},
    {"islands", W_PLACE, NULL},
    {"isle", W_PLACE, NULL},
    {"islet", W_PLACE, NULL},
    {"it", W_PRON, NULL},
    {"its", W_DET | W_POSS, NULL},
    {"ivan", W_GIVEN, NULL},
    {"jack", W_GIVEN, NULL},
    {"jacob", W_GIVEN, NULL},
    {"james", W_GIVEN, NULL},
    {"jan", W_GIVEN, NULL},
    {"jane", W_GIVEN, NULL},
    {"january", W_MONTH, NULL},
    {"jens", W_GIVEN, NULL},
    {"johan", W_GIVEN, NULL},
    {"johanna", W_GIVEN, NULL},
    {"john", W_GIVEN, NULL},
    {"jointly", W_ADV, NULL},
    {"jonah", W_GIVEN, NULL},
    {"jonas", W_GIVEN, NULL},
    {"jorge", W_GIVEN, NULL},
    {"jose", W_GIVEN, NULL},
    {"joseph", W_GIVEN, NULL},
    {"julia", W_GIVEN, NULL},
    {"july", W_MONTH, NULL},
    {"june", W_MONTH, NULL},
    {"just", W_ADV | W_APPROX, NULL},
    {"karen", W_GIVEN, NULL},
    {"karin", W_GIVEN, NULL},
    {"karl", W_GIVEN, NULL},
    {"kasimir", W_GIVEN, NULL},
    {"katarina", W_GIVEN, NULL},
    {"kate", W_GIVEN, NULL},
    {"kb", W_UNIT, NULL},
    {"keep", W_BASE, NULL},
    {"keeper", W_ROLE, NULL},
    {"kept", W_PART | W_PAST, "keep"},
    {"kerstin", W_GIVEN, NULL},
    {"kg", W_UNIT, NULL},
    {"khz", W_UNIT, NULL},
    {"kilobytes", W_UNIT, NULL},
    {"kilogram", W_UNIT, NULL},
    {"kilograms", W_UNIT, NULL},
    {"kilometer", W_UNIT, NULL},
    {"kilometers", W_UNIT, NULL},
    {"kilometre", W_UNIT, NULL},
    {"kilometres", W_UNIT, NULL},
    {"kindred", W_NOUN, NULL},
    {"king", W_TITLE, NULL},
    {"kingdom", W_PLACE, NULL},
    {"klaus", W_GIVEN, NULL},
    {"km", W_UNIT, NULL},
    {"knew", W_PAST, "know"},
    {"knot", W_UNIT, NULL},
    {"knots", W_UNIT, NULL},
    {"known", W_PART, "know"},
    {"krone", W_CUR | W_UNIT, NULL},
    {"kroner", W_CUR | W_UNIT, NULL},
    {"kronor", W_CUR | W_UNIT, NULL},
    {"kw", W_UNIT, NULL},
    {"kwh", W_UNIT, NULL},
    {"lab", W_ORG, NULL},
    {"laboratories", W_ORG, NULL},
    {"laboratory", W_ORG, NULL},
    {"labs", W_ORG, NULL},
    {"lady", W_TITLE, NULL},
    {"laid", W_PART | W_PAST, "lay"},
    {"lake", W_PLACE, NULL},
    {"lane", W_PLACE, NULL},
    {"largely", W_ADV, NULL},
    {"lars", W_GIVEN, NULL},
    {"late", W_DECMOD, NULL},
    {"later", W_ADV | W_INTRO, NULL},
    {"laura", W_GIVEN, NULL},
    {"lay", W_PAST, "lie"},
    {"lea", W_GIVEN, NULL},
    {"lead", W_BASE | W_PERSV, NULL},
    {"leader", W_ROLE, NULL},
    {"leapt", W_PART | W_PAST, "leap"},
    {"learn", W_PERSV, NULL},
    {"learnt", W_PART | W_PAST, "learn"},
    {"leave", W_BASE, NULL},
    {"lecturer", W_ROLE, NULL},
    {"led", W_PART | W_PAST, "lead"},
    {"left", W_PART | W_PAST, "leave"},
    {"lena", W_GIVEN, NULL},
    {"length", W_MEASN, NULL},
    {"lens", W_NOUN, NULL},
    {"lent", W_PART | W_PAST, "lend"},
    {"leo", W_GIVEN, NULL},
    {"less", W_APPROX, NULL},
    {"let", W_PART | W_PAST, "let"},
    {"library", W_ORG, NULL},
    {"lie", W_BASE, NULL},
    {"lighthouse", W_PLACE, NULL},
    {"like", W_PREP, NULL},
    {"lina", W_GIVEN, NULL},
    {"linnea", W_GIVEN, NULL},
    {"lisa", W_GIVEN, NULL},
    {"lit", W_PART | W_PAST, "light"},
    {"liter", W_UNIT, NULL},
    {"liters", W_UNIT, NULL},
    {"litre", W_UNIT, NULL},
    {"litres", W_UNIT, NULL},
    {"live", W_BASE, NULL},
    {"llc", W_ORG, NULL},
    {"long", W_MADJ, NULL},
    {"lord", W_TITLE, NULL},
    {"lost", W_PART | W_PAST, "lose"},
    {"louise", W_GIVEN, NULL},
    {"ltd", W_ORG, NULL},
    {"ltd.", W_ORG, NULL},
    {"lucas", W_GIVEN, NULL},
    {"lucy", W_GIVEN, NULL},
    {"luis", W_GIVEN, NULL},
    {"made", W_PART | W_PAST, "make"},
    {"magnus", W_GIVEN, NULL},
    {"mainly", W_ADV, NULL},
    {"maja", W_GIVEN, NULL},
    {"make", W_BASE, NULL},
    {"malin", W_GIVEN, NULL},
    {"manager", W_ROLE, NULL},
    {"many", W_DET, NULL},
    {"march", W_MONTH, NULL},
    {"margaret", W_GIVEN, NULL},
    {"maria", W_GIVEN, NULL},
    {"marie", W_GIVEN, NULL},
    {"market", W_PLACE, NULL},
    {"marry", W_PERSV, NULL},
    {"marta", W_GIVEN, NULL},
    {"martin", W_GIVEN, NULL},
    {"mary", W_GIVEN, NULL},
    {"master", W_ROLE, NULL},
    {"mats", W_GIVEN, NULL},
    {"matthew", W_GIVEN, NULL},
    {"max", W_GIVEN, NULL},
    {"may", W_MODAL | W_MONTH, NULL},
    {"maya", W_GIVEN, NULL},
    {"mayor", W_ROLE, NULL},
    {"mb", W_UNIT, NULL},
    {"me", W_PRONO, NULL},
    {"mean", W_BASE, NULL},
    {"means", W_NOUN, NULL},
    {"meant", W_PART | W_PAST, "mean"},
    {"meanwhile", W_INTRO, NULL},
    {"meet", W_BASE, NULL},
    {"megabytes", W_UNIT, NULL},
    {"member", W_ROLE, NULL},
    {"membership", W_COLL, NULL},
    {"men", W_PLUR, NULL},
    {"met", W_PART | W_PAST, "meet"},
    {"meter", W_UNIT, NULL},
    {"meters", W_UNIT, NULL},
    {"metre", W_UNIT, NULL},
    {"metres", W_UNIT, NULL},
    {"mhz", W_UNIT, NULL},
    {"mice", W_PLUR, NULL},
    {"michael", W_GIVEN, NULL},
    {"mid", W_DECMOD, NULL},
    {"middle", W_PERIOD, NULL},
    {"might", W_MODAL, NULL},
    {"migrate", W_BASE, NULL},
    {"mikael", W_GIVEN, NULL},
    {"mile", W_UNIT, NULL},
    {"miles", W_UNIT, NULL},
    {"millimeter", W_UNIT, NULL},
    {"millimeters", W_UNIT, NULL},
    {"millimetre", W_UNIT, NULL},
    {"millimetres", W_UNIT, NULL},
    {"million", W_NUMW | W_SCALE, NULL},
    {"minister", W_ROLE, NULL},
    {"ministry", W_ORG, NULL},
    {"minute", W_TIMEU | W_UNIT, NULL},
    {"minutes", W_TIMEU | W_UNIT, NULL},
    {"mistaken", W_PART, "mistake"},
    {"mm", W_UNIT, NULL},
    {"mohammed", W_GIVEN, NULL},
    {"month", W_TIMEU | W_UNIT, NULL},
    {"months", W_TIMEU | W_UNIT, NULL},
    {"more", W_APPROX, NULL},
    {"morning", W_PERIOD, NULL},
    {"most", W_DET, NULL},
    {"mostly", W_ADV, NULL},
    {"mount", W_PLACE, NULL},
    {"mountain", W_PLACE, NULL},
    {"move", W_BASE, NULL},
    {"mown", W_PART, "mow"},
    {"mr", W_TITLE, NULL},
    {"mr.", W_TITLE, NULL},
    {"mrs", W_TITLE, NULL},
    {"mrs.", W_TITLE, NULL},
    {"ms", W_TITLE, NULL},
    {"ms.", W_TITLE, NULL},
    {"much", W_DET, NULL},
    {"museum", W_ORG, NULL},
    {"must", W_MODAL, NULL},
    {"mv", W_VESSEL, NULL},
    {"mw", W_UNIT, NULL},
    {"mwh", W_UNIT, NULL},
    {"my", W_DET | W_POSS, NULL},
    {"nadia", W_GIVEN, NULL},
    {"naked", W_NOUN, NULL},
    {"near", W_PREP, NULL},
    {"nearly", W_APPROX, NULL},
    {"need", W_BASE | W_NOUN, NULL},
    {"neither", W_DET, NULL},
    {"nest", W_BASE, NULL},
    {"network", W_ORG, NULL},
    {"networks", W_ORG, NULL},
    {"never", W_ADV, NULL},
    {"news", W_NOUN | W_THING, NULL},
    {"night", W_PERIOD, NULL},
    {"nils", W_GIVEN, NULL},
    {"nina", W_GIVEN, NULL},
    {"nine", W_NUMW, NULL},
    {"nineteen", W_NUMW, NULL},
    {"ninety", W_NUMW, NULL},
    {"no", W_DET, NULL},
    {"noah", W_GIVEN, NULL},
    {"nok", W_CUR | W_UNIT, NULL},
    {"nor", W_CONJ, NULL},
    {"nora", W_GIVEN, NULL},
    {"normally", W_ADV, NULL},
    {"north", W_PLACE, NULL},
    {"northern", W_PLACE, NULL},
    {"not", W_ADV, NULL},
    {"november", W_MONTH, NULL},
    {"now", W_ADV | W_INTRO, NULL},
    {"nowadays", W_ADV | W_INTRO | W_NOUN, NULL},
    {"nurse", W_ROLE, NULL},
    {"observatory", W_ORG, NULL},
    {"observer", W_ROLE, NULL},
    {"ocean", W_PLACE, NULL},
    {"oceanographer", W_ROLE, NULL},
    {"october", W_MONTH, NULL},
    {"of", W_PREP, NULL},
    {"off", W_PREP, NULL},
    {"office", W_ORG, NULL},
    {"officer", W_ROLE, NULL},
    {"officially", W_ADV, NULL},
    {"often", W_ADV | W_INTRO, NULL},
    {"ola", W_GIVEN, NULL},
    {"olaf", W_GIVEN, NULL},
    {"old", W_MADJ, NULL},
    {"olga", W_GIVEN, NULL},
    {"oliver", W_GIVEN, NULL},
    {"olivia", W_GIVEN, NULL},
    {"on", W_PREP, NULL},
    {"once", W_ADV | W_FREQ | W_SUB, NULL},
    {"only", W_ADV | W_APPROX, NULL},
    {"onto", W_PREP, NULL},
    {"oona", W_GIVEN, NULL},
    {"operate", W_BASE, NULL},
    {"or", W_CONJ, NULL},
    {"originally", W_ADV | W_INTRO, NULL},
    {"oscar", W_GIVEN, NULL},
    {"otto", W_GIVEN, NULL},
    {"our", W_DET | W_POSS, NULL},
    {"outdoors", W_NOUN, NULL},
    {"output", W_MEASN, NULL},
    {"outside", W_PREP, NULL},
    {"over", W_APPROX | W_PREP, NULL},
    {"overcame", W_PART | W_PAST, "overcome"},
    {"overcome", W_PART, "overcome"},
    {"oversaw", W_PAST, "oversee"},
    {"overseas", W_NOUN, NULL},
    {"oversee", W_PERSV, NULL},
    {"overseen", W_PART, "oversee"},
    {"overtaken", W_PART, "overtake"},
    {"overtook", W_PAST, "overtake"},
    {"owner", W_ROLE, NULL},
    {"paid", W_PART | W_PAST, "pay"},
    {"paint", W_PERSV, NULL},
    {"painter", W_ROLE, NULL},
    {"palace", W_PLACE, NULL},
    {"parish", W_PLACE, NULL},
    {"park", W_PLACE, NULL},
    {"partly", W_ADV, NULL},
    {"party", W_ORG, NULL},
    {"pass", W_BASE, NULL},
    {"past", W_PREP, NULL},
    {"patron", W_ROLE, NULL},
    {"paul", W_GIVEN, NULL},
    {"pay", W_BASE, NULL},
    {"pence", W_CUR | W_UNIT, NULL},
    {"people", W_PLUR, NULL},
    {"per", W_GIVEN | W_PREP, NULL},
    {"percent", W_UNIT, NULL},
    {"perhaps", W_ADV | W_NOUN, NULL},
    {"personnel", W_PLUR, NULL},
    {"persuade", W_PERSV, NULL},
    {"petabytes", W_UNIT, NULL},
    {"peter", W_GIVEN, NULL},
    {"petra", W_GIVEN, NULL},
    {"physicist", W_ROLE, NULL},
    {"pier", W_PLACE, NULL},
    {"piet", W_GIVEN, NULL},
    {"pilot", W_ROLE, NULL},
    {"place", W_PLACE, NULL},
    {"play", W_BASE, NULL},
    {"plc", W_ORG, NULL},
    {"plus", W_NOUN, NULL},
    {"poet", W_ROLE, NULL},
    {"point", W_PLACE, NULL},
    {"police", W_PLUR, NULL},
    {"population", W_COLL | W_MEASN, NULL},
    {"port", W_PLACE, NULL},
    {"pound", W_CUR | W_UNIT, NULL},
    {"pounds", W_CUR | W_UNIT, NULL},
    {"power", W_MEASN, NULL},
    {"president", W_ROLE | W_TITLE, NULL},
    {"press", W_ORG, NULL},
    {"previously", W_ADV, NULL},
    {"principal", W_ROLE, NULL},
    {"prison", W_ORG, NULL},
    {"produce", W_BASE, NULL},
    {"prof", W_TITLE, NULL},
    {"prof.", W_TITLE, NULL},
    {"professor", W_ROLE | W_TITLE, NULL},
    {"program", W_THING, NULL},
    {"programme", W_THING, NULL},
    {"project", W_THING, NULL},
    {"propose", W_PERSV, NULL},
    {"proven", W_PART, "prove"},
    {"provide", W_BASE, NULL},
    {"province", W_PLACE, NULL},
    {"put", W_PART | W_PAST, "put"},
    {"quarter", W_PLACE, NULL},
    {"quay", W_PLACE, NULL},
    {"queen", W_TITLE, NULL},
    {"quit", W_PART | W_PAST, "quit"},
    {"rachel", W_GIVEN, NULL},
    {"radius", W_MEASN, NULL},
    {"ran", W_PAST, "run"},
    {"rang", W_PAST, "ring"},
    {"range", W_MEASN, NULL},
    {"rarely", W_ADV, NULL},
    {"reach", W_BASE, NULL},
    {"read", W_PART | W_PAST, "read"},
    {"rebecca", W_GIVEN, NULL},
    {"rebuilt", W_PART | W_PAST, "rebuild"},
    {"receive", W_BASE, NULL},
    {"recently", W_ADV | W_INTRO, NULL},
    {"records", W_THING, NULL},
    {"red", W_NOUN, NULL},
    {"reed", W_NOUN, NULL},
    {"reef", W_PLACE, NULL},
    {"region", W_PLACE, NULL},
    {"regularly", W_ADV, NULL},
    {"remain", W_BASE, NULL},
    {"republic", W_PLACE, NULL},
    {"researcher", W_ROLE, NULL},
    {"resign", W_PERSV, NULL},
    {"retire", W_PERSV, NULL},
    {"return", W_BASE, NULL},
    {"rev", W_TITLE, NULL},
    {"rev.", W_TITLE, NULL},
    {"reverend", W_TITLE, NULL},
    {"ridden", W_PART, "ride"},
    {"rise", W_BASE, NULL},
    {"risen", W_PART, "rise"},
    {"river", W_PLACE, NULL},
    {"road", W_PLACE, NULL},
    {"robert", W_GIVEN, NULL},
    {"rock", W_PLACE, NULL},
    {"rocks", W_PLACE, NULL},
    {"rode", W_PAST, "ride"},
    {"rolf", W_GIVEN, NULL},
    {"rose", W_PAST, "rise"},
    {"roughly", W_APPROX, NULL},
    {"row", W_PLACE, NULL},
    {"run", W_BASE | W_PART, "run"},
    {"ruth", W_GIVEN, NULL},
    {"rv", W_VESSEL, NULL},
    {"sacred", W_NOUN, NULL},
    {"said", W_PART | W_PAST, "say"},
    {"salmon", W_PLUR, NULL},
    {"sam", W_GIVEN, NULL},
    {"samuel", W_GIVEN, NULL},
    {"sang", W_PAST, "sing"},
    {"sank", W_PAST, "sink"},
    {"sara", W_GIVEN, NULL},
    {"sarah", W_GIVEN, NULL},
    {"sat", W_PART | W_PAST, "sit"},
    {"saw", W_PAST, "see"},
    {"say", W_PERSV, NULL},
    {"school", W_ORG, NULL},
    {"scientist", W_ROLE, NULL},
    {"sea", W_PLACE, NULL},
    {"sebastian", W_GIVEN, NULL},
    {"second", W_TIMEU | W_UNIT, NULL},
    {"seconds", W_TIMEU | W_UNIT, NULL},
    {"secretary", W_ROLE, NULL},
    {"seed", W_NOUN, NULL},
    {"seem", W_BASE, NULL},
    {"seen", W_PART, "see"},
    {"sek", W_CUR | W_UNIT, NULL},
    {"seldom", W_ADV, NULL},
    {"sell", W_BASE, NULL},
    {"sent", W_PART | W_PAST, "send"},
    {"september", W_MONTH, NULL},
    {"series", W_NOUN, NULL},
    {"serve", W_BASE | W_PERSV, NULL},
    {"service", W_ORG, NULL},
    {"services", W_ORG, NULL},
    {"set", W_BASE | W_PART | W_PAST, "set"},
    {"seven", W_NUMW, NULL},
    {"seventeen", W_NUMW, NULL},
    {"seventy", W_NUMW, NULL},
    {"several", W_DET, NULL},
    {"sewn", W_PART, "sew"},
    {"shaken", W_PART, "shake"},
    {"shall", W_MODAL, NULL},
    {"she", W_PRON, NULL},
    {"shed", W_NOUN, NULL},
    {"sheep", W_PLUR, NULL},
    {"ship", W_VESSEL, NULL},
    {"shipyard", W_ORG, NULL},
    {"shone", W_PAST, "shine"},
    {"shook", W_PAST, "shake"},
    {"shorn", W_PART, "shear"},
    {"shot", W_PART | W_PAST, "shoot"},
    {"should", W_MODAL, NULL},
    {"show", W_BASE, NULL},
    {"shown", W_PART, "show"},
    {"shut", W_PART | W_PAST, "shut"},
    {"sigrid", W_GIVEN, NULL},
    {"simon", W_GIVEN, NULL},
    {"since", W_PREP | W_SUB, NULL},
    {"sing", W_PERSV, NULL},
    {"sir", W_TITLE, NULL},
    {"sister", W_TITLE, NULL},
    {"sit", W_BASE, NULL},
    {"six", W_NUMW, NULL},
    {"sixteen", W_NUMW, NULL},
    {"sixty", W_NUMW, NULL},
    {"size", W_MEASN, NULL},
    {"skipper", W_ROLE, NULL},
    {"sled", W_NOUN, NULL},
    {"slept", W_PART | W_PAST, "sleep"},
    {"slid", W_PART | W_PAST, "slide"},
    {"so", W_CONJ, NULL},
    {"society", W_ORG, NULL},
    {"sofia", W_GIVEN, NULL},
    {"sold", W_PART | W_PAST, "sell"},
    {"some", W_APPROX | W_DET, NULL},
    {"sometimes", W_ADV | W_INTRO | W_NOUN, NULL},
    {"sons", W_ORG, NULL},
    {"soon", W_ADV, NULL},
    {"sophie", W_GIVEN, NULL},
    {"sought", W_PART | W_PAST, "seek"},
    {"sound", W_PLACE, NULL},
    {"south", W_PLACE, NULL},
    {"southern", W_PLACE, NULL},
    {"sown", W_PART, "sow"},
    {"spawn", W_BASE, NULL},
    {"speak", W_PERSV, NULL},
    {"species", W_NOUN, NULL},
    {"sped", W_PART | W_PAST, "speed"},
    {"speed", W_MEASN | W_NOUN, NULL},
    {"spelt", W_PART | W_PAST, "spell"},
    {"spend", W_BASE, NULL},
    {"spent", W_PART | W_PAST, "spend"},
    {"spoke", W_PAST, "speak"},
    {"spoken", W_PART, "speak"},
    {"sprang", W_PAST, "spring"},
    {"spread", W_PART | W_PAST, "spread"},
    {"spring", W_PERIOD, NULL},
    {"spun", W_PART | W_PAST, "spin"},
    {"square", W_PLACE, NULL},
    {"ss", W_VESSEL, NULL},
    {"stack", W_THING, NULL},
    {"stadium", W_PLACE, NULL},
    {"staff", W_COLL | W_PLUR, NULL},
    {"stand", W_BASE, NULL},
    {"start", W_BASE | W_PERIOD, NULL},
    {"state", W_PLACE, NULL},
    {"states", W_PLACE, NULL},
    {"station", W_ORG, NULL},
    {"stay", W_BASE, NULL},
    {"steed", W_NOUN, NULL},
    {"stefan", W_GIVEN, NULL},
    {"still", W_ADV, NULL},
    {"stole", W_PAST, "steal"},
    {"stolen", W_PART, "steal"},
    {"stood", W_PART | W_PAST, "stand"},
    {"stop", W_BASE, NULL},
    {"strait", W_PLACE, NULL},
    {"street", W_PLACE, NULL},
    {"stridden", W_PART, "stride"},
    {"striven", W_PART, "strive"},
    {"strove", W_PAST, "strive"},
    {"struck", W_PART | W_PAST, "strike"},
    {"strung", W_PART | W_PAST, "string"},
    {"stuck", W_PART | W_PAST, "stick"},
    {"student", W_ROLE, NULL},
    {"study", W_BASE | W_PERSV, NULL},
    {"stung", W_PART | W_PAST, "sting"},
    {"submarine", W_VESSEL, NULL},
    {"subsequently", W_ADV, NULL},
    {"such", W_DET, NULL},
    {"summer", W_PERIOD, NULL},
    {"sung", W_PART, "sing"},
    {"sunk", W_PART, "sink"},
    {"supervisor", W_ROLE, NULL},
    {"supply", W_BASE, NULL},
    {"survey", W_ORG, NULL},
    {"susan", W_GIVEN, NULL},
    {"sven", W_GIVEN, NULL},
    {"swam", W_PAST, "swim"},
    {"swept", W_PART | W_PAST, "sweep"},
    {"swim", W_BASE, NULL},
    {"sworn", W_PART, "swear"},
    {"swum", W_PART, "swim"},
    {"swung", W_PART | W_PAST, "swing"},
    {"systems", W_ORG, NULL},
    {"take", W_BASE, NULL},
    {"taken", W_PART, "take"},
    {"tall", W_MADJ, NULL},
    {"tanker", W_VESSEL, NULL},
    {"taught", W_PART | W_PAST, "teach"},
    {"tb", W_UNIT, NULL},
    {"teach", W_PERSV, NULL},
    {"teacher", W_ROLE, NULL},
    {"team", W_COLL | W_ORG, NULL},
    {"teeth", W_PLUR, NULL},
    {"temperature", W_MEASN, NULL},
    {"ten", W_NUMW, NULL},
    {"terabytes", W_UNIT, NULL},
    {"than", W_PREP, NULL},
    {"that", W_DET | W_WH, NULL},
    {"the", W_ART | W_DET, NULL},
    {"theater", W_PLACE, NULL},
    {"theatre", W_PLACE, NULL},
    {"their", W_DET | W_POSS, NULL},
    {"them", W_PRONO, NULL},
    {"then", W_ADV, NULL},
    {"there", W_PRON, NULL},
    {"these", W_DET, NULL},
    {"they", W_PRON, NULL},
    {"thick", W_MADJ, NULL},
    {"thickness", W_MEASN, NULL},
    {"thirteen", W_NUMW, NULL},
    {"thirty", W_NUMW, NULL},
    {"this", W_DET, NULL},
    {"thomas", W_GIVEN, NULL},
    {"those", W_DET, NULL},
    {"though", W_SUB, NULL},
    {"thought", W_PART | W_PAST, "think"},
    {"thousand", W_NUMW | W_SCALE, NULL},
    {"three", W_NUMW, NULL},
    {"threw", W_PAST, "throw"},
    {"through", W_PREP, NULL},
    {"throughout", W_PREP, NULL},
    {"thrown", W_PART, "throw"},
    {"thus", W_ADV | W_NOUN, NULL},
    {"tide", W_THING, NULL},
    {"till", W_PREP | W_SUB, NULL},
    {"times", W_TIMES, NULL},
    {"to", W_PREP, NULL},
    {"today", W_INTRO, NULL},
    {"together", W_INTRO, NULL},
    {"told", W_PART | W_PAST, "tell"},
    {"tomas", W_GIVEN, NULL},
    {"ton", W_UNIT, NULL},
    {"tonne", W_UNIT, NULL},
    {"tonnes", W_UNIT, NULL},
    {"tons", W_UNIT, NULL},
    {"took", W_PAST, "take"},
    {"tore", W_PAST, "tear"},
    {"torn", W_PART, "tear"},
    {"tove", W_GIVEN, NULL},
    {"toward", W_PREP, NULL},
    {"towards", W_NOUN | W_PREP, NULL},
    {"tower", W_PLACE, NULL},
    {"town", W_PLACE, NULL},
    {"traditionally", W_ADV | W_INTRO, NULL},
    {"trawler", W_VESSEL, NULL},
    {"treasurer", W_ROLE, NULL},
    {"trillion", W_NUMW | W_SCALE, NULL},
    {"trust", W_ORG, NULL},
    {"turn", W_PERIOD, NULL},
    {"twelve", W_NUMW, NULL},
    {"twenty", W_NUMW, NULL},
    {"twice", W_FREQ, NULL},
    {"two", W_NUMW, NULL},
    {"typically", W_ADV, NULL},
    {"ulla", W_GIVEN, NULL},
    {"ulrik", W_GIVEN, NULL},
    {"under", W_APPROX | W_PREP, NULL},
    {"underneath", W_PREP, NULL},
    {"understood", W_PART | W_PAST, "understand"},
    {"undertaken", W_PART, "undertake"},
    {"undertook", W_PAST, "undertake"},
    {"universities", W_ORG, NULL},
    {"university", W_ORG, NULL},
    {"unless", W_SUB, NULL},
    {"unlike", W_PREP, NULL},
    {"until", W_PREP | W_SUB, NULL},
    {"up", W_APPROX, NULL},
    {"upon", W_PREP, NULL},
    {"upstairs", W_NOUN, NULL},
    {"us", W_PRONO, NULL},
    {"usd", W_CUR | W_UNIT, NULL},
    {"use", W_BASE, NULL},
    {"uss", W_VESSEL, NULL},
    {"usually", W_ADV | W_INTRO, NULL},
    {"valley", W_PLACE, NULL},
    {"vessel", W_VESSEL, NULL},
    {"via", W_PREP, NULL},
    {"victor", W_GIVEN, NULL},
    {"viktor", W_GIVEN, NULL},
    {"village", W_PLACE, NULL},
    {"visit", W_BASE, NULL},
    {"volt", W_UNIT, NULL},
    {"volts", W_UNIT, NULL},
    {"volume", W_MEASN, NULL},
    {"warden", W_ROLE, NULL},
    {"was", W_BE | W_PAST, "be"},
    {"watt", W_UNIT, NULL},
    {"watts", W_UNIT, NULL},
    {"way", W_PLACE, NULL},
    {"we", W_PRON, NULL},
    {"wed", W_NOUN, NULL},
    {"weed", W_NOUN, NULL},
    {"week", W_TIMEU | W_UNIT, NULL},
    {"weeks", W_TIMEU | W_UNIT, NULL},
    {"weight", W_MEASN, NULL},
    {"went", W_PAST, "go"},
    {"were", W_BE | W_PAST, "be"},
    {"west", W_PLACE, NULL},
    {"western", W_PLACE, NULL},
    {"what", W_WH, NULL},
    {"when", W_SUB | W_WH, NULL},
    {"whenever", W_SUB, NULL},
    {"where", W_SUB | W_WH, NULL},
    {"whereas", W_NOUN | W_SUB, NULL},
    {"wherever", W_SUB, NULL},
    {"whether", W_SUB, NULL},
    {"which", W_WH, NULL},
    {"while", W_SUB, NULL},
    {"who", W_WH, NULL},
    {"whom", W_WH, NULL},
    {"whose", W_WH, NULL},
    {"why", W_WH, NULL},
    {"wicked", W_NOUN, NULL},
    {"wide", W_MADJ, NULL},
    {"width", W_MEASN, NULL},
    {"will", W_MODAL, NULL},
    {"william", W_GIVEN, NULL},
    {"win", W_PERSV, NULL},
    {"winter", W_PERIOD, NULL},
    {"with", W_PREP, NULL},
    {"withdrawn", W_PART, "withdraw"},
    {"withdrew", W_PAST, "withdraw"},
    {"within", W_PREP, NULL},
    {"without", W_PREP, NULL},
    {"withstood", W_PART | W_PAST, "withstand"},
    {"woke", W_PAST, "wake"},
    {"woken", W_PART, "wake"},
    {"women", W_PLUR, NULL},
    {"won", W_PART | W_PAST, "win"},
    {"wore", W_PAST, "wear"},
    {"work", W_BASE, NULL},
    {"workforce", W_COLL, NULL},
    {"works", W_ORG, NULL},
    {"worn", W_PART, "wear"},
    {"would", W_MODAL, NULL},
    {"wound", W_PART | W_PAST, "wind"},
    {"wove", W_PAST, "weave"},
    {"woven", W_PART, "weave"},
    {"write", W_PERSV, NULL},
    {"writer", W_ROLE, NULL},
    {"written", W_PART, "write"},
    {"wrote", W_PAST, "write"},
    {"yacht", W_VESSEL, NULL},
    {"yard", W_PLACE | W_UNIT, NULL},
    {"yards", W_UNIT, NULL},
    {"year", W_TIMEU | W_UNIT, NULL},
    {"years", W_TIMEU | W_UNIT, NULL},
    {"yen", W_CUR | W_UNIT, NULL},
    {"yes", W_NOUN, NULL},
    {"yet", W_CONJ, NULL},
    {"you", W_PRON, NULL},
    {"your", W_DET | W_POSS, NULL},
    {"yusuf", W_GIVEN, NULL},
    {"zoe", W_GIVEN, NULL},
};

/* LEX's hash index, built once on first use: slot (rk_hash64_of the word)
 * & 2047, or the next free one after it, holds the word's index + 1;
 * 0 is a free slot. */
static uint16_t LEX_SLOT[2048];
static pthread_once_t lex_once = PTHREAD_ONCE_INIT;

static void lex_index(void) {
    const size_t mask = sizeof LEX_SLOT / sizeof LEX_SLOT[0] - 1;
    for (size_t i = 0; i < sizeof LEX / sizeof LEX[0]; i++) {
        size_t k = rk_hash64_of(LEX[i].w, strlen(LEX[i].w), 0) & mask;
        while (LEX_SLOT[k])
            k = (k + 1) & mask;
        LEX_SLOT[k] = (uint16_t)(i + 1);
    }
}

/* Token flags. */
enum {
    T_WORD = 1 << 0,    /* letters, digits and marks (with inner ' - and number separators) */
    T_CAP = 1 << 1,     /* starts with an upper-case letter */
    T_ALLCAP = 1 << 2,  /* two or more letters, all upper case: RV, RAG */
    T_DIGIT = 1 << 3,   /* starts with a digit */
    T_NUM = 1 << 4,     /* digits with . and , separators: 31.5, 1,840 */
    T_YEAR = 1 << 5,    /* four digits, 1000 to 2099 */
    T_DECADE = 1 << 6,  /* 1980s */
    T_HYPH = 1 << 7,    /* has a hyphen inside */
    T_POSS = 1 << 8,    /* ends with 's or s' */
    T_NL = 1 << 9,      /* a line break comes before it */
    T_TIME = 1 << 10,   /* 07:15 */
    T_ISO = 1 << 11,    /* 2021-03-04 */
    T_NUMW = 1 << 12,   /* a number word: seven, forty-six */
    T_START = 1 << 13,  /* first token of its sentence: its capital says nothing */
    T_ASCII = 1 << 14,  /* only ASCII bytes */
    T_APOS = 1 << 15,   /* has an apostrophe inside */
    T_LOWER = 1 << 16,  /* starts with a lower-case letter */
    T_SMALLN = 1 << 17, /* a number from 1 to 31 (a day of the month) */
    T_ONE = 1 << 18,    /* the number 1 */
};

typedef struct tok {
    size_t s, e; /* bytes of the chunk */
    uint32_t f;  /* T_ flags */
    int lex;     /* index in LEX, -1 when not a lexicon word */
    uint64_t w;  /* W_ classes of the lexicon entry */
    int32_t cp;  /* the code point of a one-character punctuation token, else 0 */
} tok;

typedef struct sent {
    size_t t0, t1; /* tokens [t0,t1), the final period left out; t0 after a heading cut */
    size_t s, e;   /* bytes of the whole sentence (as rk_text_sentences gives it) */
    int para;      /* paragraph number: a blank line before it starts a new one */
    int ok;        /* ends with a period and is short enough to read */
} sent;

/* The subject a pronoun of the next clause stands for. */
typedef struct antecedent {
    int set;
    size_t s, e; /* bytes */
    int lower;   /* lower-case its first letter when used inside a question */
    int person;  /* 1 person, 0 thing, -1 unknown */
    int vessel;  /* a ship: "she" may stand for it */
    int plural;
    int para;
} antecedent;

typedef struct clause {
    size_t in0, in1;     /* introduction [in0,in1); in0 == in1: none */
    int in_move;         /* 1: questions end with it; 0: they leave it out */
    size_t s0, s1;       /* subject, with its appositive or parenthesis */
    size_t h1;           /* end of the subject's head (before an appositive or parenthesis) */
    size_t ap0, ap1;     /* appositive, between its commas; ap0 == ap1: none */
    int subj_lower;      /* lower-case the subject's first letter inside a question */
    int pron;            /* 0; 1: a pronoun subject; 2: a possessive first word; both resolved to ante */
    antecedent ante;     /* what the pronoun stands for */
    size_t aux;          /* auxiliary token or NONE */
    size_t pre0, pre1;   /* adverbs between the subject and the verb group */
    size_t post0, post1; /* after the auxiliary, through the main verb */
    size_t v;            /* main verb (NONE: a copula, or "have" as the auxiliary alone) */
    size_t vend;         /* the rest starts here */
    size_t r1;           /* the rest ends here (at "and" before another verb) */
    size_t r2;           /* the rest and the verb phrases coordinated with it end here */
    size_t end;          /* end of the sentence's tokens */
} clause;

typedef struct cand {
    char *q;
    size_t as, ae; /* answer bytes */
    size_t sent;   /* sentence number */
    int tier;      /* 0 strongest */
    int order;     /* generation order within the sentence */
    int round;     /* the how-many-th question of its sentence */
    rk_answer_kind kind;
} cand;

typedef struct qg {
    const char *t;
    size_t n;
    tok *tk;
    size_t ntk, tcap;
    sent *sv;
    size_t ns;
    uint64_t *caps; /* hashes of words seen capitalized inside a sentence */
    uint64_t *pers; /* hashes of surnames: the last word of "Marie Curie", "Dr. Oona Castellane" */
    size_t caps_mask;
    cand *cv;
    size_t nc, ccap;
    char *b; /* the question being built */
    size_t bn, bcap;
    int oom;
    size_t cur_sent;
    int order;
} qg;

/* ---- lexicon and tokens ---------------------------------------------------- */

/* The lexicon entry of s[0..n) (any case), or -1. */
static int lex_find(const char *s, size_t n) {
    char key[24];
    if (n >= sizeof key) return -1;
    for (size_t i = 0; i < n; i++)
        key[i] = (s[i] >= 'A' && s[i] <= 'Z') ? (char)(s[i] + 32) : s[i];
    key[n] = 0;
    const size_t mask = sizeof LEX_SLOT / sizeof LEX_SLOT[0] - 1;
    for (size_t k = rk_hash64_of(key, n, 0) & mask; LEX_SLOT[k]; k = (k + 1) & mask) {
        const char *w = LEX[LEX_SLOT[k] - 1].w;
        if (w[0] == key[0] && !strcmp(w, key)) return LEX_SLOT[k] - 1;
    }
    return -1;
}

static int32_t cp_at(const char *t, size_t end, size_t i, size_t *len) {
    if ((unsigned char)t[i] < 0x80) {
        *len = 1;
        return (unsigned char)t[i];
    }
    utf8proc_int32_t c;
    utf8proc_ssize_t l = utf8proc_iterate((const utf8proc_uint8_t *)t + i, (utf8proc_ssize_t)(end - i), &c);
    if (l <= 0) {
        *len = 1;
        return 0xFFFD;
    }
    *len = (size_t)l;
    return c;
}

static int is_word_cp(int32_t c) {
    if (c < 128) return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    switch (utf8proc_category(c)) {
    case UTF8PROC_CATEGORY_LU:
    case UTF8PROC_CATEGORY_LL:
    case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_LO:
    case UTF8PROC_CATEGORY_ND:
    case UTF8PROC_CATEGORY_NL:
    case UTF8PROC_CATEGORY_NO:
    case UTF8PROC_CATEGORY_MN:
    case UTF8PROC_CATEGORY_MC:
    case UTF8PROC_CATEGORY_ME: return 1;
    default: return 0;
    }
}

static int is_upper_cp(int32_t c) {
    if (c < 128) return c >= 'A' && c <= 'Z';
    utf8proc_category_t k = utf8proc_category(c);
    return k == UTF8PROC_CATEGORY_LU || k == UTF8PROC_CATEGORY_LT;
}

static int is_lower_cp(int32_t c) {
    if (c < 128) return c >= 'a' && c <= 'z';
    return utf8proc_category(c) == UTF8PROC_CATEGORY_LL;
}

static int is_digit(char c) { return c >= '0' && c <= '9'; }
static int is_apos(int32_t c) { return c == '\'' || c == 0x2019; }
static int is_hyphen(int32_t c) { return c == '-' || c == 0x2010 || c == 0x2011; }

static int push_tok(qg *q, tok t) {
    if (q->ntk == q->tcap) {
        size_t cap = q->tcap ? 2 * q->tcap : 256;
        tok *v = realloc(q->tk, cap * sizeof *v);
        if (!v) return -1;
        q->tk = v;
        q->tcap = cap;
    }
    q->tk[q->ntk++] = t;
    return 0;
}

/* Abbreviations whose period belongs to the word (rk_text_sentences does not
 * end a sentence after them either). */
static int is_abbrev(const char *s, size_t n) {
    static const char *const ab[] = {"dr", "mr",  "mrs", "ms",   "prof", "st", "jr",     "sr",  "capt", "rev",
                                     "co", "inc", "ltd", "corp", "vs",   "no", "approx", "fig", "cf",   "ca"};
    for (size_t i = 0; i < sizeof ab / sizeof ab[0]; i++)
        if (strlen(ab[i]) == n && !strncasecmp(s, ab[i], n)) return 1;
    return 0;
}

/* Sets the flags of the word token t from its bytes and the lexicon. */
static void word_flags(const qg *q, tok *t) {
    const char *s = q->t + t->s;
    size_t n = t->e - t->s, len;
    int32_t c0 = cp_at(q->t, t->e, t->s, &len);
    t->f |= T_WORD;
    if (is_upper_cp(c0)) t->f |= T_CAP;
    if (is_lower_cp(c0)) t->f |= T_LOWER;
    if (is_digit(s[0])) t->f |= T_DIGIT;
    int ascii = 1, digits = 0, letters = 0, upper = 0, seps = 0, hyph = 0, colon = 0, apos = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 128) ascii = 0;
        if (is_digit((char)c))
            digits++;
        else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
            letters++, upper += c <= 'Z';
        else if (c == '.' || c == ',')
            seps++;
        else if (c == '-')
            hyph++;
        else if (c == ':')
            colon++;
        else if (c == '\'')
            apos++;
    }
    if (!ascii) {
        /* non-ASCII letters count for the all-capitals test */
        for (size_t i = 0; i < n; i += len) {
            int32_t c = cp_at(q->t, t->e, t->s + i, &len);
            if (c >= 128 && is_word_cp(c)) letters++, upper += is_upper_cp(c);
            if (c == 0x2019) apos++;
        }
    }
    if (ascii) t->f |= T_ASCII;
    if (hyph) t->f |= T_HYPH;
    if (apos) t->f |= T_APOS;
    if (letters >= 2 && upper == letters) t->f |= T_ALLCAP;
    if (n >= 2 && (s[n - 1] == 's' || s[n - 1] == '\'') && apos) t->f |= T_POSS;
    if (digits && !letters && !hyph && !colon && digits + seps == (int)n && is_digit(s[n - 1])) {
        t->f |= T_NUM;
        int v = 0; /* the text need not end with a NUL: no atoi */
        for (size_t i = 0; i < n && i < 5 && !seps; i++)
            v = 10 * v + (s[i] - '0');
        if (n == 4 && !seps && v >= 1000 && v <= 2099) t->f |= T_YEAR;
        if (n <= 2 && v >= 1 && v <= 31) t->f |= T_SMALLN;
        if (n == 1 && v == 1) t->f |= T_ONE;
    }
    if (n == 5 && digits == 4 && s[4] == 's') t->f |= T_DECADE;
    if (colon == 1 && digits + 1 == (int)n) t->f |= T_TIME;
    if (n == 10 && hyph == 2 && digits == 8 && s[4] == '-' && s[7] == '-') t->f |= T_ISO;
    t->lex = digits ? -1 : lex_find(s, n);
    t->w = t->lex >= 0 ? LEX[t->lex].cls : 0;
    if (t->w & W_NUMW) t->f |= T_NUMW;
    if (hyph == 1 && !digits && !(t->f & T_NUMW)) { /* forty-six */
        const char *h = memchr(s, '-', n);
        int a = lex_find(s, (size_t)(h - s));
        if (a >= 0 && (LEX[a].cls & W_NUMW)) {
            int b = lex_find(h + 1, n - (size_t)(h - s) - 1);
            if (b >= 0 && (LEX[b].cls & W_NUMW)) t->f |= T_NUMW;
        }
    }
}

/* Appends the tokens of text[s,e) to q->tk. */
static int tokenize(qg *q, size_t s, size_t e) {
    const char *t = q->t;
    int nl = 0;
    size_t i = s, len;
    while (i < e) {
        int32_t c = cp_at(t, e, i, &len);
        if (c == ' ' || c == '\n' || c == '\t' || c == '\r' || c == 0xA0) {
            nl |= c == '\n';
            i += len;
            continue;
        }
        tok k = {.s = i, .lex = -1};
        if (nl) k.f |= T_NL;
        nl = 0;
        if (!is_word_cp(c)) {
            k.e = i + len;
            k.cp = c;
            if (push_tok(q, k)) return -1;
            i += len;
            continue;
        }
        size_t j = i + len;
        int32_t prev = c;
        while (j < e) {
            unsigned char b = (unsigned char)t[j];
            if (b < 0x80 &&
                ((unsigned)((b | 32) - 'a') < 26 || (unsigned)(b - '0') < 10)) { /* the fast path */
                prev = b;
                j++;
                continue;
            }
            size_t l2, l3;
            int32_t c2 = cp_at(t, e, j, &l2);
            if (b >= 0x80 && is_word_cp(c2)) {
                prev = c2;
                j += l2;
                continue;
            }
            if (j + l2 >= e) break;
            int32_t c3 = cp_at(t, e, j + l2, &l3);
            int pd = prev < 128 && is_digit((char)prev), nd = c3 < 128 && is_digit((char)c3);
            int join = 0;
            if (is_apos(c2))
                join = !pd && !nd && is_word_cp(c3);
            else if (is_hyphen(c2))
                join = is_word_cp(c3);
            else if (c2 == '.' || c2 == ':')
                join = pd && nd;
            else if (c2 == ',')
                join = pd && j + 4 <= e && is_digit(t[j + 1]) && is_digit(t[j + 2]) && is_digit(t[j + 3]) &&
                       (j + 4 == e || !is_digit(t[j + 4]));
            if (!join) break;
            prev = c3;
            j += l2 + l3;
        }
        /* the plural possessive: "the visitors' entrance" */
        if (j < e && t[j] == '\'' && prev == 's' && (j + 1 == e || !is_word_cp((unsigned char)t[j + 1]))) j++;
        /* an abbreviation's period, unless it ends the sentence */
        if (j + 1 < e && t[j] == '.' && (t[j + 1] == ' ' || t[j + 1] == '\n') &&
            (is_abbrev(t + i, j - i) || (j - i == 1 && c >= 'A' && c <= 'Z')))
            j++;
        k.e = j;
        word_flags(q, &k);
        if (push_tok(q, k)) return -1;
        i = j;
    }
    return 0;
}

static size_t tlen(const qg *q, size_t i) { return q->tk[i].e - q->tk[i].s; }
static int has(const qg *q, size_t i, uint64_t w) { return (q->tk[i].w & w) != 0; }
static int flag(const qg *q, size_t i, uint32_t f) { return (q->tk[i].f & f) != 0; }
static int is_p(const qg *q, size_t i, int32_t c) { return q->tk[i].cp == c; }
static int is_punct(const qg *q, size_t i) { return !(q->tk[i].f & T_WORD); }

/* Token i is the word w (w in lower case). */
static int is_w(const qg *q, size_t i, const char *w) {
    const char *s = q->t + q->tk[i].s;
    size_t n = tlen(q, i), k = 0;
    for (; k < n && w[k]; k++)
        if ((s[k] >= 'A' && s[k] <= 'Z' ? s[k] + 32 : s[k]) != w[k]) return 0;
    return k == n && !w[k];
}

static uint64_t word_hash(const qg *q, size_t i) {
    uint64_t h = 1469598103934665603ull;
    for (size_t k = q->tk[i].s; k < q->tk[i].e; k++) {
        unsigned char c = (unsigned char)q->t[k];
        if (c >= 'A' && c <= 'Z') c += 32;
        h = (h ^ c) * 1099511628211ull;
    }
    return h ? h : 1;
}

/* Open addressing sets of word hashes (0 is empty), sized at least twice the
 * number of tokens. */
static void set_add(uint64_t *set, size_t mask, uint64_t h) {
    for (size_t k = h & mask;; k = (k + 1) & mask) {
        if (set[k] == h) return;
        if (!set[k]) {
            set[k] = h;
            return;
        }
    }
}

static int set_has(const uint64_t *set, size_t mask, uint64_t h) {
    for (size_t k = h & mask; set[k]; k = (k + 1) & mask)
        if (set[k] == h) return 1;
    return 0;
}

/* The word of token i is seen capitalized inside some sentence of the chunk:
 * a name, not just a sentence's first word. */
static int caps_has(const qg *q, size_t i) { return set_has(q->caps, q->caps_mask, word_hash(q, i)); }

/* The word of token i ends a person's name somewhere in the chunk: "Curie"
 * after "Marie Curie". */
static int surname(const qg *q, size_t i) { return set_has(q->pers, q->caps_mask, word_hash(q, i)); }

/* A lower-case word inside names: "Guido van Rossum", "Hask & Sons". */
static int name_link(const qg *q, size_t i) {
    return is_p(q, i, '&') || is_w(q, i, "of") || is_w(q, i, "de") || is_w(q, i, "van") ||
           is_w(q, i, "von") || is_w(q, i, "der") || is_w(q, i, "la") || is_w(q, i, "du") ||
           is_w(q, i, "da") || is_w(q, i, "di");
}

/* A capitalized word that is a name (or part of one) rather than a common
 * word capitalized because it opens the sentence. */
static int proper(const qg *q, size_t i) {
    if (!flag(q, i, T_WORD) || !flag(q, i, T_CAP | T_DIGIT)) return 0;
    if (!flag(q, i, T_START)) return flag(q, i, T_CAP) || flag(q, i, T_HYPH);
    if (has(q, i, W_FUNC | W_NUMW | W_APPROX | W_INTRO)) return 0;
    if (flag(q, i, T_ALLCAP) || has(q, i, W_TITLE | W_GIVEN) || caps_has(q, i)) return 1;
    size_t k = i + 1;
    if (k + 1 < q->ntk && name_link(q, k) && !is_w(q, k, "of") && !is_p(q, k, '&'))
        k++; /* "Guido van Rossum" */
    if (k < q->ntk && flag(q, k, T_WORD) && flag(q, k, T_CAP) && !has(q, k, W_FUNC)) return 1;
    return i + 1 < q->ntk && flag(q, i + 1, T_DIGIT) &&
           !flag(q, i + 1, T_YEAR); /* "Python 3.0", not "In 1971" */
}

/* Whether a question that moves token i inside should lower-case it. */
static int lower_first(const qg *q, size_t i) {
    if (!flag(q, i, T_START) || !flag(q, i, T_CAP)) return 0;
    return !proper(q, i);
}

/* Cuts a heading or a list item off the front of a sentence: a short line
 * without a final period, followed by a line break and a capital. */
static size_t skip_headings(const qg *q, size_t a, size_t b) {
    size_t start = a;
    for (size_t k = a + 1; k < b; k++) {
        if (!flag(q, k, T_NL) || !flag(q, k, T_CAP | T_DIGIT)) continue;
        size_t words = 0;
        for (size_t j = start; j < k; j++)
            words += flag(q, j, T_WORD);
        const tok *last = &q->tk[k - 1];
        int open = (last->w & (W_DET | W_PREP | W_CONJ | W_POSS)) || last->cp == ',' || last->cp == ';' ||
                   (last->cp && last->cp != ':' && last->cp != ')');
        if (words <= 8 && !open) start = k;
    }
    return start;
}

/* ---- verbs ------------------------------------------------------------------ */

static int lower_ascii_word(const qg *q, size_t i) {
    return flag(q, i, T_WORD) && flag(q, i, T_LOWER) && flag(q, i, T_ASCII) && !flag(q, i, T_DIGIT | T_APOS);
}

/* Looks like a present-tense third person singular verb: "carries". */
static int s_verb(const qg *q, size_t i) {
    if (!lower_ascii_word(q, i) || flag(q, i, T_HYPH)) return 0;
    if (has(q, i, W_FUNC | W_NOUN | W_UNIT | W_NUMW | W_PLUR | W_MONTH | W_AUX)) return 0;
    const char *s = q->t + q->tk[i].s;
    size_t n = tlen(q, i);
    if (n < 3 || s[n - 1] != 's') return 0;
    char p = s[n - 2];
    return p != 's' && p != 'u' && p != 'i' && p != '\'';
}

/* Looks like a regular past tense or participle: "founded". */
static int ed_verb(const qg *q, size_t i) {
    if (!lower_ascii_word(q, i) || flag(q, i, T_HYPH)) return 0;
    if (has(q, i, W_FUNC | W_NOUN | W_UNIT | W_NUMW | W_AUX)) return 0;
    const char *s = q->t + q->tk[i].s;
    size_t n = tlen(q, i);
    return n >= 4 && s[n - 2] == 'e' && s[n - 1] == 'd';
}

static int past_verb(const qg *q, size_t i) {
    return (has(q, i, W_PAST) && lower_ascii_word(q, i)) || ed_verb(q, i);
}
static int part_verb(const qg *q, size_t i) {
    return (has(q, i, W_PART) && lower_ascii_word(q, i)) || ed_verb(q, i);
}

/* "-ing" forms after a be-verb: "is being". */
static int ing_verb(const qg *q, size_t i) {
    const char *s = q->t + q->tk[i].s;
    size_t n = tlen(q, i);
    return lower_ascii_word(q, i) && !has(q, i, W_FUNC) && n >= 5 && !memcmp(s + n - 3, "ing", 3);
}

static int vowel(char c) { return c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u'; }

/* The base form of a regular past tense (w, n bytes, lower case, ending in
 * "ed") into out; 0 when the spelling leaves it unclear ("develop" or
 * "develope"?), and the question is then not asked. */
static int lemma_ed(const char *w, size_t n, char *out, size_t cap) {
    size_t L = n - 2;
    if (L < 2 || L + 2 > cap) return 0;
    memcpy(out, w, L);
    out[L] = 0;
    char c = out[L - 1], b = out[L - 2];
    int add_e = 0;
    if (c == 'i') { /* carried, died */
        if (L <= 2)
            add_e = 1;
        else
            out[L - 1] = 'y';
    } else if (c == 'e') { /* agreed */
        add_e = 1;
    } else if (c == b && !vowel(c)) { /* stopped; installed, passed, added */
        if (!strchr("lszf", c) && strcmp(out, "add") && strcmp(out, "ebb") && strcmp(out, "err"))
            out[--L] = 0;
    } else if (vowel(c)) {
        if (c == 'u')
            add_e = 1; /* continued */
        else if (c != 'o')
            return 0;
    } else if (c == 'y' || c == 'w' || c == 'x') { /* played, followed, fixed */
        add_e = 0;
    } else if (!vowel(b) && b != 'y') {     /* two consonants */
        if (c == 'h' && b == 't') return 0; /* bathed or berthed */
        if (strchr("cvz", c))
            add_e = 1;
        else if (c == 'g')
            add_e = b == 'd' || b == 'r' || b == 'l' ||
                    (b == 'n' && L >= 3 && (out[L - 3] == 'a' || out[L - 3] == 'e'));
        else if (c == 's')
            add_e = strchr("lnrp", b) != NULL;
        else if (c == 'l')
            add_e = !strchr("lrw", b);
    } else {
        /* one vowel (or a pair) before the final consonant */
        int pair = L >= 3 && vowel(out[L - 3]) && !(out[L - 3] == 'u' && L >= 4 && out[L - 4] == 'q');
        int syl = 0;
        for (size_t k = 0; k < L; k++)
            syl += (vowel(out[k]) || (out[k] == 'y' && k > 0)) &&
                   (k == 0 || !(vowel(out[k - 1]) || out[k - 1] == 'y'));
        if (strchr("cvz", c))
            add_e = 1;
        else if (pair) /* "caused"; "negotiated", "evaluated", "persuaded"; "created" */
            add_e = c == 's' || (b == 'a' && (out[L - 3] == 'i' || out[L - 3] == 'u')) ||
                    (L >= 5 && !strcmp(out + L - 5, "creat"));
        else if (c == 's')
            add_e = strcmp(out, "focus") && strcmp(out, "bias");
        else if (b == 'e') {
            if (c == 'd')
                add_e = 1;
            else if (c == 't')
                add_e = L >= 3 && (out[L - 3] == 'l' || out[L - 3] == 'p');
        } else if (b == 'a')
            add_e = c != 'l';
        else if (b == 'i')
            add_e = c != 't' || (L >= 3 && strchr("cnv", out[L - 3]));
        else if (b == 'u' || b == 'y')
            add_e = 1;
        else if (b == 'o') {
            if (syl <= 1)
                add_e = 1;
            else if (c == 'k' || c == 'd' || c == 'l')
                add_e = 1;
            else if (c == 'r')
                add_e = L >= 4 && (!strncmp(out + L - 4, "plor", 4) || !strncmp(out + L - 4, "gnor", 4) ||
                                   !strncmp(out + L - 4, "stor", 4));
            else if (c == 't') {
                if (L >= 3 && out[L - 3] == 'm')
                    add_e = 1;
                else
                    return 0;
            } else if (c == 'n')
                add_e = L >= 3 && (out[L - 3] == 'p' || out[L - 3] == 'z');
        }
    }
    if (add_e) {
        out[L] = 'e';
        out[L + 1] = 0;
    }
    return 1;
}

/* The base form of a present-tense -s verb. */
static int lemma_s(const char *w, size_t n, char *out, size_t cap) {
    if (n + 1 > cap || n < 3) return 0;
    memcpy(out, w, n);
    out[n] = 0;
    if (!strcmp(out, "has")) return memcpy(out, "have", 5), 1;
    if (!strcmp(out, "does")) return memcpy(out, "do", 3), 1;
    if (!strcmp(out, "goes")) return memcpy(out, "go", 3), 1;
    size_t L = n;
    if (L > 4 && !strcmp(out + L - 3, "ies")) {
        out[L - 3] = 'y';
        out[L - 2] = 0;
    } else if ((L > 4 && (!strcmp(out + L - 4, "ches") || !strcmp(out + L - 4, "shes") ||
                          !strcmp(out + L - 4, "sses") || !strcmp(out + L - 4, "zzes"))) ||
               (L > 3 && (!strcmp(out + L - 3, "xes") || !strcmp(out + L - 3, "oes")))) {
        out[L - 2] = 0;
    } else {
        out[L - 1] = 0;
    }
    return 1;
}

/* The do-support of main verb i: writes its base form into out and returns
 * "does", "did" or "do"; NULL when unsure. */
static const char *do_support(const qg *q, size_t i, char *out, size_t cap) {
    const char *w = q->t + q->tk[i].s;
    size_t n = tlen(q, i);
    char low[40];
    if (n + 2 > cap || n + 1 > sizeof low || !flag(q, i, T_ASCII)) return NULL;
    for (size_t k = 0; k < n; k++)
        low[k] = (w[k] >= 'A' && w[k] <= 'Z') ? (char)(w[k] + 32) : w[k];
    low[n] = 0;
    if (has(q, i, W_HAVE)) {
        memcpy(out, "have", 5);
        return !strcmp(low, "has")    ? "does"
               : !strcmp(low, "had")  ? "did"
               : !strcmp(low, "have") ? "do"
                                      : NULL;
    }
    if (has(q, i, W_PAST) && LEX[q->tk[i].lex].lemma) {
        const char *l = LEX[q->tk[i].lex].lemma;
        if (strlen(l) + 1 > cap || has(q, i, W_BE)) return NULL;
        memcpy(out, l, strlen(l) + 1);
        return "did";
    }
    if (ed_verb(q, i)) return lemma_ed(low, n, out, cap) ? "did" : NULL;
    if (s_verb(q, i)) return lemma_s(low, n, out, cap) ? "does" : NULL;
    if (has(q, i, W_BASE)) {
        memcpy(out, low, n + 1);
        return "do";
    }
    return NULL;
}

/* ---- clauses ------------------------------------------------------------------ */

/* A finite verb comes later in the clause (before a comma): then a past form
 * at i is a participle inside the subject ("The observations made at ... are
 * kept"). */
static int later_finite(const qg *q, size_t i, size_t end) {
    for (size_t k = i + 1; k < end && k < i + 24; k++) {
        if (is_punct(q, k) && !is_p(q, k, '&')) return 0;
        if (has(q, k, W_CONJ | W_WH | W_SUB)) return 0;
        if (has(q, k, W_BE | W_MODAL | W_DO) || (has(q, k, W_HAVE) && !has(q, k - 1, W_DET))) return 1;
        if (s_verb(q, k) && !has(q, k - 1, W_DET | W_POSS) && !flag(q, k - 1, T_NUM | T_NUMW)) return 1;
        if (has(q, k, W_BASE) && lower_ascii_word(q, k) && !has(q, k - 1, W_DET | W_POSS | W_PREP)) return 1;
    }
    return 0;
}

/* The subject noun phrase's last token can end a noun phrase. */
static int np_end_ok(const qg *q, size_t last) {
    if (is_punct(q, last)) return is_p(q, last, ')') || is_p(q, last, ',');
    return !has(q, last, W_DET | W_PREP | W_CONJ | W_SUB | W_WH | W_APPROX) || has(q, last, W_PRON | W_PRONO);
}

/* Looks like a plural noun phrase head: "turbines", "children", "they". */
static int plural_head(const qg *q, size_t i) {
    if (has(q, i, W_PLUR) || is_w(q, i, "they") || is_w(q, i, "we") || is_w(q, i, "you")) return 1;
    const char *s = q->t + q->tk[i].s;
    size_t n = tlen(q, i);
    return flag(q, i, T_WORD) && !flag(q, i, T_APOS) && n >= 3 && s[n - 1] == 's' && s[n - 2] != 's' &&
           s[n - 2] != 'u' && !has(q, i, W_PRON);
}

/* An adverb in -ly: "remotely". */
static int ly_word(const qg *q, size_t i) {
    const char *s = q->t + q->tk[i].s;
    size_t n = tlen(q, i);
    return lower_ascii_word(q, i) && n >= 5 && s[n - 2] == 'l' && s[n - 1] == 'y' && !has(q, i, W_NOUN);
}

/* A verb group can start at j after the subject [s0,j). */
static int verb_at(const qg *q, size_t s0, size_t j, size_t end, size_t head) {
    if (j >= end || j <= s0 || !np_end_ok(q, j - 1)) return 0;
    size_t k = j;
    while (k < end && has(q, k, W_ADV) && !has(q, k, W_AUX))
        k++; /* "usually lasts" */
    if (k >= end || k > j + 2) return 0;
    if (has(q, k, W_AUX)) return 1;
    if (!lower_ascii_word(q, k)) return 0;
    int prev_det = has(q, j - 1, W_DET | W_POSS) && !has(q, j - 1, W_PRON);
    if (prev_det || flag(q, j - 1, T_NUM | T_NUMW)) return 0;
    if (has(q, k, W_PAST) && !has(q, k, W_PART)) return 1; /* began */
    if (k == j && j >= s0 + 2 && ly_word(q, j - 1) && has(q, j - 2, W_DET | W_POSS))
        return 0; /* "her remotely operated" */
    if (past_verb(q, k)) return !later_finite(q, k, end);
    if (s_verb(q, k)) {
        if (k + 1 >= end || is_punct(q, k + 1)) return 0;          /* "The paper ledgers, covering" */
        if (has(q, k + 1, W_AUX) || past_verb(q, k + 1)) return 0; /* "turbines are" */
        return !plural_head(q, head);
    }
    if (has(q, k, W_BASE)) return plural_head(q, head);
    return 0;
}

/* The verb group starting at j (after adverbs): fills aux, v, pre, post, vend. */
static void verb_group(const qg *q, size_t j, size_t end, clause *c) {
    size_t k = j;
    c->pre0 = j;
    while (k + 1 < end && has(q, k, W_ADV) && !has(q, k, W_AUX))
        k++;
    c->pre1 = k;
    c->aux = NONE;
    c->v = NONE;
    if (has(q, k, W_AUX)) {
        size_t a = k++;
        while (k < end && has(q, k, W_ADV) && !has(q, k, W_AUX))
            k++;
        int have_aux = 1;
        if (has(q, a, W_HAVE)) have_aux = k < end && (part_verb(q, k) || is_w(q, k, "been"));
        if (!have_aux) { /* "has a team": the main verb */
            c->v = a;
            c->post0 = c->post1 = a + 1;
            c->vend = a + 1;
            return;
        }
        c->aux = a;
        c->post0 = a + 1;
        /* further auxiliaries: "has been", "can be" */
        while (k < end && (has(q, k, W_BE | W_HAVE) && !has(q, k, W_PAST | W_MODAL | W_DO))) {
            k++;
            while (k < end && has(q, k, W_ADV) && !has(q, k, W_AUX))
                k++;
        }
        if (k < end && (part_verb(q, k) || ing_verb(q, k) ||
                        (has(q, a, W_MODAL | W_DO) && lower_ascii_word(q, k) && !has(q, k, W_FUNC)))) {
            c->v = k;
            k++;
        } else {
            /* a copula: back off over adverbs that belong to the complement */
            while (k > a + 1 && has(q, k - 1, W_ADV) && !has(q, k - 1, W_AUX))
                k--;
        }
        c->post1 = c->vend = k;
        return;
    }
    c->v = k;
    c->post0 = c->post1 = k + 1;
    c->vend = k + 1;
}

/* Where the rest of the clause ends: a comma or other mark, a relative or
 * subordinate clause, or "and" before a verb or a new subject. */
static size_t rest_end(const qg *q, size_t k, size_t end, int and_cut) {
    for (; k < end; k++) {
        const tok *t = &q->tk[k];
        if (!(t->f & T_WORD)) {
            if (t->cp == '&' || t->cp == '%' || t->cp == '/' || t->cp == 0x20AC || t->cp == '$' ||
                t->cp == 0xA3)
                continue;
            /* "December 3, 2008" */
            if (t->cp == ',' && k >= 2 && k + 1 < end && flag(q, k - 1, T_SMALLN) && has(q, k - 2, W_MONTH) &&
                flag(q, k + 1, T_YEAR))
                continue;
            return k;
        }
        if (t->w & W_WH) {
            if (is_w(q, k, "that") && k + 1 < end &&
                !has(q, k + 1, W_DET | W_PRON | W_POSS | W_AUX | W_PRONO) &&
                (is_punct(q, k - 1) || has(q, k - 1, W_PREP | W_CONJ | W_AUX)))
                continue; /* "into that building", not "a station that samples" */
            return k;
        }
        if ((t->w & W_SUB) && !(t->w & W_PREP)) {
            if (is_w(q, k, "once") && !(k + 1 < end && has(q, k + 1, W_DET | W_PRON | W_POSS))) continue;
            return k;
        }
        if (t->w & W_CONJ) {
            if (!is_w(q, k, "and") && !is_w(q, k, "or")) return k;
            if (k + 1 >= end) return k;
            if (!and_cut) continue;
            size_t n = k + 1;
            while (n < end && has(q, n, W_ADV) && !has(q, n, W_AUX))
                n++;
            if (n < end && (has(q, n, W_AUX | W_PRON) || past_verb(q, n) || s_verb(q, n))) return k;
        }
    }
    return end;
}

static int is_vessel_np(const qg *q, size_t a, size_t b) {
    for (size_t i = a; i < b; i++)
        if (has(q, i, W_VESSEL) && (flag(q, i, T_ALLCAP) || i + 1 == b)) return 1;
    return 0;
}

/* Tokens [a,b) are a proper-noun phrase: "the Halvard Tidal Observatory",
 * "Hask & Sons", "Keeper of the Lamp", "Maelstad's goby" (at most max_low
 * lower-case words after the names, as its head). */
static int name_phrase(const qg *q, size_t a, size_t b, int max_low) {
    size_t i = a;
    if (i < b && is_w(q, i, "the")) i++;
    if (i >= b || !proper(q, i) || has(q, i, W_NUMW | W_MONTH)) return 0;
    int low = 0, names = 0;
    for (; i < b; i++) {
        if (is_p(q, i, '(')) {
            while (i < b && !is_p(q, i, ')'))
                i++;
            if (i + 1 != b) return 0;
            break;
        }
        if (low) {
            if (!lower_ascii_word(q, i) || has(q, i, W_FUNC | W_NUMW) || ++low > max_low + 1) return 0;
            continue;
        }
        if (flag(q, i, T_WORD) && (flag(q, i, T_CAP) || (flag(q, i, T_DIGIT) && names))) {
            names++;
            continue;
        }
        if (name_link(q, i) && i + 1 < b) {
            if (is_w(q, i, "of") && i + 2 < b && is_w(q, i + 1, "the")) i++;
            if (flag(q, i + 1, T_CAP)) continue;
            return 0;
        }
        if (lower_ascii_word(q, i) && !has(q, i, W_FUNC | W_NUMW) && max_low > 0 && names) {
            low = 1;
            continue;
        }
        return 0;
    }
    return names > 0;
}

/* The clause says its subject is a person: an appositive or a complement
 * names a role, or the verb is one whose subject is a person. */
static int person_evidence(const qg *q, const clause *c) {
    for (size_t i = c->ap0; i < c->ap1; i++)
        if (has(q, i, W_ROLE) && flag(q, i, T_LOWER)) return 1;
    if (c->aux != NONE && has(q, c->aux, W_BE) && c->v == NONE) {
        size_t k = c->vend;
        if (k < c->r1 && has(q, k, W_ART | W_POSS)) k++;
        for (size_t n = 0; k < c->r1 && n < 3; k++, n++)
            if (has(q, k, W_ROLE) && flag(q, k, T_LOWER)) return 1;
    }
    if (c->v != NONE && c->aux == NONE) {
        char base[40];
        if (do_support(q, c->v, base, sizeof base)) {
            int e = lex_find(base, strlen(base));
            if (e >= 0 && (LEX[e].cls & W_PERSV)) return 1;
        }
    }
    return 0;
}

/* The person test of a name [a,b): 1 a person, 0 a thing, -1 unsure.
 * Evidence comes from the name (a title, a given name, organisation words)
 * and from the clause (an appositive or complement naming a role, a verb
 * whose subject is a person). */
static int person_name(const qg *q, size_t a, size_t b, const clause *c) {
    size_t caps = 0;
    if (is_w(q, a, "the")) return a + 1 < b && has(q, a + 1, W_ROLE) ? 1 : 0;
    if (has(q, a, W_TITLE)) return 1;
    for (size_t i = a; i < b; i++) {
        if (is_p(q, i, '(')) break;
        if (i > a && i + 1 < b && name_link(q, i) && !is_w(q, i, "of") && !is_p(q, i, '&')) continue;
        if (has(q, i, W_ORG | W_PLACE | W_THING | W_VESSEL) || flag(q, i, T_ALLCAP | T_DIGIT) ||
            !flag(q, i, T_CAP))
            return 0;
        caps++;
    }
    if (caps > 4) return -1;
    if (caps >= 2 && has(q, a, W_GIVEN)) return 1;
    int evidence = c && person_evidence(q, c);
    if (caps == 1) return surname(q, a) ? 1 : evidence ? -1 : 0; /* "Halvard is ...", "Curie won ..." */
    return evidence ? 1 : -1;
}

/* Reads an introduction at i: a phrase ending at a comma (a subordinate
 * clause may hold a verb, a prepositional phrase may not: "In 1971 it moved
 * ..., and" is no introduction up to the comma), a prepositional phrase
 * followed by the subject ("In 1971 it", "At Halvard this window"), or a
 * sentence adverb ("Today the observatory"). Returns its end, or i. */
static size_t intro_at(const qg *q, size_t i, size_t end) {
    if (i >= end || !has(q, i, W_PREP | W_SUB | W_INTRO)) return i;
    if (has(q, i, W_PREP)) { /* "In 1971 it", "Since 1984 the programme" */
        size_t j = i + 1;
        if (j < end && has(q, j, W_DET | W_POSS)) j++;
        size_t c0 = j;
        while (j < end && j < c0 + 6 && flag(q, j, T_WORD) &&
               !has(q, j, W_DET | W_PRON | W_POSS | W_AUX | W_WH | W_SUB) && !past_verb(q, j))
            j++;
        if (j > c0 && j < end && has(q, j, W_DET | W_PRON | W_POSS)) return j;
    }
    int verbs = 0;
    for (size_t k = i + 1; k < end && k < i + 16; k++) {
        if (is_p(q, k, ',')) {
            if (k > i + 1 && (!verbs || has(q, i, W_SUB))) return k + 1;
            break;
        }
        if (is_punct(q, k) && !is_p(q, k, '&') && !is_p(q, k, '%')) break;
        verbs |= has(q, k, W_AUX | W_PRON) || past_verb(q, k) || s_verb(q, k);
    }
    if (has(q, i, W_INTRO) && !has(q, i, W_PREP | W_SUB) && i + 1 < end &&
        (has(q, i + 1, W_DET | W_PRON | W_POSS) || proper(q, i + 1)))
        return i + 1; /* "Today the observatory" */
    return i;
}

/* Parses the clause starting at c0 (sentence tokens end at end) into *c.
 * 0 when it does not have the shape questions are made from. */
static int parse_clause(const qg *q, size_t c0, size_t end, const antecedent *ante, clause *c) {
    memset(c, 0, sizeof *c);
    c->end = end;
    size_t i = c0;
    int intros = 0;
    for (; intros < 2; intros++) {
        size_t k = intro_at(q, i, end);
        if (k == i) break;
        i = k;
    }
    c->in0 = c0;
    c->in1 = i;
    c->in_move = intros > 1 ? -1 : 1; /* two are too many to move to the end */
    if (i > c0 &&
        (is_w(q, c0, "because") || is_w(q, c0, "although") || is_w(q, c0, "though") || is_w(q, c0, "as") ||
         is_w(q, c0, "whereas") || (is_w(q, c0, "since") && is_p(q, i - 1, ','))))
        c->in_move = 0;
    size_t s0 = i;
    if (s0 >= end || is_punct(q, s0)) return 0;
    if (has(q, s0, W_PREP | W_SUB | W_CONJ | W_WH | W_AUX | W_APPROX | W_PRONO) &&
        !has(q, s0, W_DET | W_PRON))
        return 0;
    if (!flag(q, s0, T_CAP | T_LOWER)) return 0;
    if (is_w(q, s0, "no") || is_w(q, s0, "nobody") || is_w(q, s0, "none") || is_w(q, s0, "neither") ||
        is_w(q, s0, "one") || is_w(q, s0, "this") || is_w(q, s0, "that") || is_w(q, s0, "these") ||
        is_w(q, s0, "those") || is_w(q, s0, "such") || is_w(q, s0, "anyone") || is_w(q, s0, "everyone"))
        return 0;
    c->ap0 = c->ap1 = 0;
    c->h1 = NONE;
    size_t head = NONE, j = s0, found = NONE;
    int pron = has(q, s0, W_PRON);
    for (; j < end && j < s0 + 16; j++) {
        if (pron && j > s0) {
            found = verb_at(q, s0, j, end, s0) ? j : NONE;
            break;
        }
        if (is_p(q, j, '(')) {
            size_t k = j + 1;
            while (k < end && k < j + 12 && !is_p(q, k, ')'))
                k++;
            if (k >= end || !is_p(q, k, ')')) return 0;
            if (head == NONE) head = j - 1;
            if (c->h1 == NONE) c->h1 = j;
            j = k;
            continue;
        }
        if (is_p(q, j, ',')) {
            /* an appositive: ", a hydrographer from Brennmouth," then the verb */
            size_t k = j + 1;
            while (k < end && k < j + 14 && !is_punct(q, k)) {
                if (has(q, k, W_AUX | W_WH | W_SUB) && !is_w(q, k, "that")) break;
                k++;
            }
            if (k >= end || !is_p(q, k, ',') || k == j + 1 || c->ap1) return 0;
            if (!verb_at(q, s0, k + 1, end, head == NONE ? j - 1 : head)) return 0;
            if (head == NONE) head = j - 1;
            if (c->h1 == NONE) c->h1 = j;
            c->ap0 = j + 1;
            c->ap1 = k;
            found = k + 1;
            break;
        }
        if (is_punct(q, j) && !is_p(q, j, '&')) return 0;
        if (j > s0 && has(q, j, W_WH | W_SUB) && !has(q, j, W_PREP | W_DET)) return 0;
        /* an adverb inside a subject: "the first lantern", "the strongest gust ever recorded"; not "the
         * biologists now count" */
        if (j > s0 && has(q, j - 1, W_ADV) && !has(q, j - 1, W_APPROX | W_DET) &&
            (j - 1 == s0 || !has(q, j - 2, W_DET | W_POSS)) && !part_verb(q, j))
            return 0;
        if (verb_at(q, s0, j, end, head == NONE ? j - 1 : head)) {
            found = j;
            break;
        }
        if (j > s0 && has(q, j, W_AUX)) return 0;
    }
    if (found == NONE) return 0;
    c->s0 = s0;
    c->s1 = c->ap1 ? c->ap1 + 1 : found;
    if (c->h1 == NONE) c->h1 = found;
    if (c->h1 <= s0) return 0;
    verb_group(q, found, end, c);
    c->r1 = rest_end(q, c->vend, end, 1);
    c->r2 = rest_end(q, c->vend, end, 0);
    c->subj_lower = lower_first(q, s0);
    /* pronouns */
    if (pron || has(q, s0, W_POSS)) {
        if (is_w(q, s0, "there")) return c->aux != NONE && has(q, c->aux, W_BE);
        if (!ante->set) return 0;
        int he = is_w(q, s0, "he") || is_w(q, s0, "his"), she = is_w(q, s0, "she") || is_w(q, s0, "her");
        int it = is_w(q, s0, "it") || is_w(q, s0, "its"), they = is_w(q, s0, "they") || is_w(q, s0, "their");
        int ok = (he && ante->person == 1) || (she && (ante->person == 1 || ante->vessel)) ||
                 (it && ante->person == 0 && !ante->plural) || (they && ante->plural && ante->person != 1);
        if (!ok) return 0;
        if (pron && c->h1 != s0 + 1) return 0;
        c->pron = pron ? 1 : 2;
        c->ante = *ante;
    }
    return 1;
}

/* The antecedent a clause offers the next one: its subject when that is a
 * name or a definite noun phrase. */
static void update_antecedent(const qg *q, const clause *c, int para, antecedent *a) {
    if (c->pron == 1) {
        a->para = para;
        return;
    }
    memset(a, 0, sizeof *a);
    if (c->pron) return;
    size_t s0 = c->s0, h1 = c->h1;
    if (h1 > 1 && is_p(q, h1 - 1, ')')) { /* drop a parenthesis */
        while (h1 > s0 && !is_p(q, h1 - 1, '('))
            h1--;
        if (h1 > s0) h1--;
    }
    if (h1 <= s0 || h1 - s0 > 6) return;
    int name = name_phrase(q, s0, h1, 2);
    if (!name && !is_w(q, s0, "the")) return;
    for (size_t i = s0; i < h1; i++)
        if (has(q, i, W_PRON | W_PRONO | W_POSS) || flag(q, i, T_NUM | T_NUMW) || has(q, i, W_CONJ)) return;
    a->set = 1;
    a->s = q->tk[s0].s;
    a->e = q->tk[h1 - 1].e;
    a->lower = c->subj_lower;
    a->para = para;
    a->vessel = is_vessel_np(q, s0, h1);
    a->plural = plural_head(q, h1 - 1) && !flag(q, h1 - 1, T_CAP);
    a->person = name ? person_name(q, s0, h1, c) : 0;
}

/* ---- building questions --------------------------------------------------------- */

static void qb_reset(qg *q) { q->bn = 0; }

static void qb_raw(qg *q, const char *s, size_t n) {
    if (q->bn + n + 2 > q->bcap) {
        size_t cap = 2 * (q->bn + n + 2) + 64;
        char *b = realloc(q->b, cap);
        if (!b) {
            q->oom = 1;
            return;
        }
        q->b = b;
        q->bcap = cap;
    }
    memcpy(q->b + q->bn, s, n);
    q->bn += n;
    q->b[q->bn] = 0;
}

static void qb_space(qg *q) {
    if (q->bn && q->b[q->bn - 1] != ' ') qb_raw(q, " ", 1);
}

static void qb_lit(qg *q, const char *s) {
    if (!s || !*s) return;
    qb_space(q);
    qb_raw(q, s, strlen(s));
}

/* Appends text[s,e) with its runs of whitespace made one space; lower
 * lower-cases its first letter. */
static void qb_bytes(qg *q, size_t s, size_t e, int lower) {
    if (s >= e) return;
    qb_space(q);
    size_t start = q->bn;
    for (size_t i = s; i < e; i++) {
        char c = q->t[i];
        if (c == '\n' || c == '\t' || c == '\r') c = ' ';
        if (c == ' ' && q->bn > start && q->b[q->bn - 1] == ' ') continue;
        qb_raw(q, &c, 1);
    }
    if (lower && q->bn > start && q->b[start] >= 'A' && q->b[start] <= 'Z') q->b[start] += 32;
}

static void qb_toks(qg *q, size_t a, size_t b, int lower) {
    if (a < b) qb_bytes(q, q->tk[a].s, q->tk[b - 1].e, lower);
}

static void qb_subject(qg *q, const clause *c) {
    if (c->pron == 1) {
        qb_bytes(q, c->ante.s, c->ante.e, c->ante.lower);
        return;
    }
    if (c->pron == 2) {
        qb_bytes(q, c->ante.s, c->ante.e, c->ante.lower);
        if (q->t[c->ante.e - 1] == 's')
            qb_raw(q, "'", 1);
        else
            qb_raw(q, "'s", 2);
        qb_toks(q, c->s0 + 1, c->s1, 0);
        return;
    }
    /* "Dr. Piet Abernach, a marine ecologist," is named well enough without the appositive */
    size_t e = c->ap1 && name_phrase(q, c->s0, c->h1, 1) ? c->h1 : c->s1;
    qb_toks(q, c->s0, e, c->subj_lower);
}

/* What a question says besides its clause. */
typedef struct qspec {
    const char *wh;     /* "When", "How many" */
    size_t w0, w1;      /* tokens after wh: a unit, a measure adjective; w0 == w1: none */
    int subject;        /* the wh-phrase is the subject: no inversion */
    int copula_subject; /* "What is <subject>?" with the complement as the answer */
    size_t d0, d1;      /* tokens of the rest left out (the answer's phrase) */
    size_t cut;         /* the rest ends here */
    int drop_intro;     /* the introduction held the answer */
    size_t a0, a1;      /* answer tokens */
    rk_answer_kind kind;
    int tier;
} qspec;

static char ascii_lower(char c) { return c >= 'A' && c <= 'Z' ? (char)(c + 32) : c; }

/* h[0..hn) holds n[0..nn), ASCII letters compared without case. */
static int ascii_icase_contains(const char *h, size_t hn, const char *n, size_t nn) {
    if (!nn || nn > hn) return 0;
    char first = ascii_lower(n[0]);
    for (size_t i = 0; i + nn <= hn; i++)
        if (ascii_lower(h[i]) == first && !strncasecmp(h + i, n, nn)) return 1;
    return 0;
}

/* s[0..n) has a curly quote that is not closed (or closed but not opened). */
static int curly_open(const char *s, size_t n) {
    int open = 0;
    for (size_t i = 0; i + 2 < n; i++)
        if ((unsigned char)s[i] == 0xE2 && (unsigned char)s[i + 1] == 0x80) {
            open += (unsigned char)s[i + 2] == 0x9C;
            open -= (unsigned char)s[i + 2] == 0x9D;
            if (open < 0) return 1;
        }
    return open != 0;
}

static size_t count_words(const char *s, size_t n) {
    size_t w = 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && (i == 0 || s[i - 1] == ' ')) w++;
    return w;
}

/* Finishes the question in q->b and adds it as a candidate when it passes the
 * checks every question must pass. */
static void add_question(qg *q, size_t as, size_t ae, rk_answer_kind kind, int tier) {
    if (q->oom) return;
    while (q->bn && (q->b[q->bn - 1] == ' ' || q->b[q->bn - 1] == ',' || q->b[q->bn - 1] == ';' ||
                     q->b[q->bn - 1] == ':' || q->b[q->bn - 1] == '-'))
        q->bn--;
    qb_raw(q, "?", 1);
    if (q->oom) return;
    char *b = q->b;
    size_t n = q->bn;
    if (b[0] >= 'a' && b[0] <= 'z') b[0] -= 32;
    if (!(b[0] >= 'A' && b[0] <= 'Z')) return;
    size_t words = count_words(b, n);
    if (words < 4 || words > MAX_Q_WORDS) return;
    int paren = 0, quotes = 0;
    for (size_t i = 0; i < n; i++) {
        if (b[i] == '\n') return;
        paren += b[i] == '(';
        paren -= b[i] == ')';
        if (paren < 0) return;
        quotes += b[i] == '"';
    }
    if (paren || (quotes & 1) || curly_open(b, n)) return;
    if (ae <= as || count_words(q->t + as, ae - as) > MAX_ANSWER_WORDS) return;
    if (ascii_icase_contains(b, n, q->t + as, ae - as)) return;
    for (size_t i = as; i < ae; i++)
        if (q->t[i] == '\n') return;
    /* the last word cannot be a determiner or a conjunction */
    size_t lw = n - 1;
    while (lw > 0 && b[lw - 1] != ' ')
        lw--;
    int last = lex_find(b + lw, n - 1 - lw);
    if (last >= 0 && (LEX[last].cls & (W_DET | W_CONJ | W_POSS | W_WH | W_SUB)) && !(LEX[last].cls & W_PREP))
        return;
    if (q->nc == q->ccap) {
        size_t cap = q->ccap ? 2 * q->ccap : 32;
        cand *v = realloc(q->cv, cap * sizeof *v);
        if (!v) {
            q->oom = 1;
            return;
        }
        q->cv = v;
        q->ccap = cap;
    }
    char *s = malloc(n + 1);
    if (!s) {
        q->oom = 1;
        return;
    }
    memcpy(s, b, n + 1);
    q->cv[q->nc++] = (cand){
        .q = s, .as = as, .ae = ae, .sent = q->cur_sent, .tier = tier, .order = q->order++, .kind = kind};
}

/* Builds the question of spec p on clause c. */
static void clause_question(qg *q, const clause *c, const qspec *p) {
    char base[48];
    qb_reset(q);
    qb_lit(q, p->wh);
    qb_toks(q, p->w0, p->w1, 0);
    size_t cut = p->cut ? p->cut : c->r1;
    if (p->subject) {
        qb_toks(q, c->pre0, c->vend, 0);
    } else if (c->aux != NONE) { /* "When was X launched", "What is X" */
        qb_toks(q, c->aux, c->aux + 1, 0);
        qb_subject(q, c);
        qb_toks(q, c->pre0, c->pre1, 0);
        qb_toks(q, c->post0, c->post1, 0);
    } else {
        if (c->v == NONE) return;
        const char *d = do_support(q, c->v, base, sizeof base);
        if (!d) return;
        qb_lit(q, d);
        qb_subject(q, c);
        qb_toks(q, c->pre0, c->pre1, 0);
        qb_lit(q, base);
    }
    if (!p->copula_subject) {
        if (p->d0 < p->d1) {
            qb_toks(q, c->vend, p->d0, 0);
            qb_toks(q, p->d1, cut, 0);
        } else {
            qb_toks(q, c->vend, cut, 0);
        }
    }
    if (c->in0 < c->in1 && !p->drop_intro) {
        if (c->in_move != 1) return;
        size_t e = c->in1;
        if (e > c->in0 && is_p(q, e - 1, ',')) e--;
        if (e - c->in0 > 8) return;
        qb_toks(q, c->in0, e, lower_first(q, c->in0));
    }
    add_question(q, q->tk[p->a0].s, q->tk[p->a1 - 1].e, p->kind, p->tier);
}

/* ---- numbers and dates ------------------------------------------------------------ */

typedef struct numph {
    size_t a0, a1; /* answer */
    size_t n0;     /* the number */
    size_t u0, u1; /* unit or counted noun, with "per second", "a year", "of data" */
    size_t end;    /* end of the phrase (after a measure adjective) */
    size_t madj;   /* measure adjective or NONE */
    int unit, cur, pct, timeu, noun;
} numph;

static int is_currency_sign(const qg *q, size_t i) {
    int32_t c = q->tk[i].cp;
    return c == 0x20AC || c == '$' || c == 0xA3 || c == 0xA5;
}

/* A word of a counted noun phrase: "university students". */
static int noun_word(const qg *q, size_t i) {
    return lower_ascii_word(q, i) && !has(q, i, W_FUNC | W_NUMW | W_APPROX | W_MADJ | W_AUX) &&
           !flag(q, i, T_HYPH);
}

/* "a year", "per person" after a unit or noun. */
static size_t rate_at(const qg *q, size_t k, size_t end) {
    if (k + 1 < end && (is_w(q, k, "a") || is_w(q, k, "an") || is_w(q, k, "per")) &&
        (has(q, k + 1, W_TIMEU) || (is_w(q, k, "per") && noun_word(q, k + 1))))
        return k + 2;
    return k;
}

/* Reads a number phrase at i: [approximator] number [unit or counted noun]
 * [measure adjective]. 0 when there is none, or it is part of a range or a
 * list, or it is the number one (whose noun is singular). */
static int number_phrase(const qg *q, size_t i, size_t end, numph *p) {
    memset(p, 0, sizeof *p);
    p->madj = NONE;
    size_t k = i;
    if (k < end && !flag(q, k, T_NUM | T_NUMW) && !has(q, k, W_APPROX | W_PREP) && !is_currency_sign(q, k))
        return 0;
    if (k < end && (is_w(q, k, "only") || is_w(q, k, "just"))) k++;
    p->a0 = k;
    if (k + 1 < end &&
        ((is_w(q, k, "more") || is_w(q, k, "less") || is_w(q, k, "fewer")) && is_w(q, k + 1, "than")))
        k += 2;
    else if (k + 1 < end && ((is_w(q, k, "up") && is_w(q, k + 1, "to")) ||
                             (is_w(q, k, "at") && (is_w(q, k + 1, "least") || is_w(q, k + 1, "most")))))
        k += 2;
    else if (k < end && has(q, k, W_APPROX) && !is_w(q, k, "only") && !is_w(q, k, "just"))
        k++;
    if (k < end && is_currency_sign(q, k)) p->cur = 1, k++;
    if (k >= end) return 0;
    p->n0 = k;
    if (flag(q, k, T_NUM)) {
        /* one: a singular noun follows, except in "1 hour and 50 minutes" */
        if (flag(q, k, T_ONE) && !(k + 3 < end && has(q, k + 1, W_TIMEU) && is_w(q, k + 2, "and"))) return 0;
        if (flag(q, k, T_YEAR) && !(k + 1 < end && has(q, k + 1, W_UNIT))) return 0;
        k++;
    } else if (flag(q, k, T_NUMW) && !has(q, k, W_SCALE)) {
        k++;
    } else {
        return 0;
    }
    if (k < end && has(q, k, W_SCALE)) k++; /* 2.7 billion */
    if (k < end && (is_p(q, k, '%'))) {
        p->pct = 1;
        k++;
    }
    /* a range or a list: "ten to twenty metres", "1962 and 1988" */
    if (k + 1 < end &&
        (is_w(q, k, "to") || is_w(q, k, "or") || is_p(q, k, '-') || is_p(q, k, 0x2013) ||
         is_w(q, k, "and")) &&
        flag(q, k + 1, T_NUM | T_NUMW))
        return 0;
    if (k < end && is_w(q, k, "of")) return 0; /* "two of whom" */
    p->u0 = k;
    if (!p->pct && k < end) {
        size_t u = k;
        if ((is_w(q, u, "square") || is_w(q, u, "cubic")) && u + 1 < end && has(q, u + 1, W_UNIT)) u++;
        if (has(q, u, W_UNIT) && !flag(q, u, T_CAP | T_START)) {
            p->unit = 1;
            p->cur = p->cur || has(q, u, W_CUR);
            p->timeu = has(q, u, W_TIMEU) != 0;
            p->pct = is_w(q, u, "percent");
            k = u + 1;
            if (k < end && is_w(q, u, "degrees") && (is_w(q, k, "celsius") || is_w(q, k, "fahrenheit"))) k++;
            if (k + 1 < end && is_w(q, k, "per") && has(q, k + 1, W_UNIT)) k += 2;
            if (k + 1 < end && is_w(q, k, "per") && is_w(q, k + 1, "cent")) k += 2, p->pct = 1;
            /* "1 hour and 50 minutes" */
            if (p->timeu && k + 2 < end && is_w(q, k, "and") && flag(q, k + 1, T_NUM | T_NUMW) &&
                has(q, k + 2, W_TIMEU))
                k += 3;
        } else if (p->cur) {
            /* "$2 billion": the sign is the unit */
        } else {
            size_t last = NONE;
            for (size_t m = u; m < end && m < u + 3 && noun_word(q, m); m++)
                if (plural_head(q, m) || has(q, m, W_PLUR)) last = m;
            if (last == NONE) {
                p->u1 = p->a1 = p->end = k;
                return 1; /* a bare number: "a crew of seven" */
            }
            p->noun = 1;
            k = last + 1;
        }
    }
    p->a1 = k;
    p->u1 = rate_at(q, k, end);
    k = p->u1;
    if (p->unit && !p->cur && !p->pct && k + 1 < end && is_w(q, k, "of") && noun_word(q, k + 1)) {
        k += 2; /* "41 terabytes of data" */
        p->u1 = k;
    }
    if (p->unit && k < end && has(q, k, W_MADJ) && p->u1 == p->a1) {
        p->madj = k;
        k++;
    }
    p->end = k;
    return 1;
}

/* Reads a date at i; returns its end, or i when there is none. in_month:
 * a month alone counts ("in January"). */
static size_t date_at(const qg *q, size_t i, size_t end, int in_month) {
    if (i >= end) return i;
    size_t k = i;
    if (is_w(q, k, "the") && k + 1 < end) {
        if (has(q, k + 1, W_DECMOD) && k + 2 < end && flag(q, k + 2, T_DECADE)) return k + 3;
        if (flag(q, k + 1, T_DECADE)) return k + 2;
        if (has(q, k + 1, W_PERIOD) && k + 3 < end && is_w(q, k + 2, "of")) {
            size_t e = date_at(q, k + 3, end, 0);
            return e > k + 3 ? e : i;
        }
        return i;
    }
    if (flag(q, k, T_ISO | T_DECADE)) return k + 1;
    if (has(q, k, W_DECMOD) && k + 1 < end && flag(q, k + 1, T_YEAR)) return k + 2;
    if (flag(q, k, T_YEAR)) {
        if (k + 1 < end && (has(q, k + 1, W_UNIT) || noun_word(q, k + 1))) return i;
        return k + 1;
    }
    int month = has(q, k, W_MONTH) && flag(q, k, T_CAP);
    if (flag(q, k, T_SMALLN) && k + 1 < end && has(q, k + 1, W_MONTH) && flag(q, k + 1, T_CAP)) {
        if (k + 2 < end && flag(q, k + 2, T_YEAR)) return k + 3;
        return k + 2;
    }
    if (month) {
        if (k + 1 < end && flag(q, k + 1, T_YEAR)) return k + 2;
        if (k + 3 < end && flag(q, k + 1, T_SMALLN) && is_p(q, k + 2, ',') && flag(q, k + 3, T_YEAR))
            return k + 4;
        if (k + 1 < end && flag(q, k + 1, T_SMALLN)) return k + 2;
        if (in_month) return k + 1;
    }
    return i;
}

/* Some "and" or "or" between a and b joins noun phrases: a question about
 * one part would be unclear. */
static int coordinated(const qg *q, size_t a, size_t b) {
    for (size_t k = a; k < b; k++)
        if (is_w(q, k, "and") || is_w(q, k, "or")) return 1;
    return 0;
}

/* The clause to ask about token k with: c itself when k is in its first
 * verb phrase; beyond a coordinated verb ("was designed and built in the
 * workshop and installed in 1991"), the verb after the last "and" before k
 * takes the place of c's verb ("When was ... installed?"). 0 when no verb
 * follows that "and", or k is not in its phrase. */
static int retarget(const qg *q, const clause *c, size_t k, clause *out) {
    *out = *c;
    if (k < c->r1) return 1;
    size_t m = NONE;
    for (size_t i = c->r1; i < k; i++)
        if (is_w(q, i, "and") || is_w(q, i, "or")) m = i;
    if (m == NONE || m + 1 >= k) return 0;
    size_t n = m + 1;
    if (has(q, n, W_AUX)) { /* "and was decommissioned in 2009" */
        verb_group(q, n, c->end, out);
        if (out->aux == NONE && out->v == NONE) return 0;
    } else if (c->aux != NONE && part_verb(q, n)) { /* "was designed ... and installed in 1991" */
        out->pre0 = out->pre1 = n;
        out->post0 = n;
        out->post1 = out->vend = n + 1;
        out->v = n;
    } else if (c->aux == NONE && (past_verb(q, n) || s_verb(q, n))) { /* "founded ... and directed" */
        out->v = n;
        out->pre0 = out->pre1 = n;
        out->post0 = out->post1 = out->vend = n + 1;
    } else {
        return 0;
    }
    out->r1 = rest_end(q, out->vend, c->end, 1);
    return k >= out->vend && k < out->r1;
}

/* The intro is a date phrase: "In 1971", "Since 1984". */
static void intro_date(qg *q, const clause *c) {
    if (c->in1 - c->in0 < 2 || has(q, c->in0, W_DET)) return;
    size_t e = c->in1;
    if (is_p(q, e - 1, ',')) e--;
    const char *wh = is_w(q, c->in0, "in") || is_w(q, c->in0, "on") || is_w(q, c->in0, "during") ? "When"
                     : is_w(q, c->in0, "since")                            ? "Since when"
                     : is_w(q, c->in0, "until") || is_w(q, c->in0, "till") ? "Until when"
                                                                           : NULL;
    if (!wh || date_at(q, c->in0 + 1, e, 1) != e) return;
    if (c->pron == 0 && is_w(q, c->s0, "there")) return;
    qspec p = {.wh = wh, .drop_intro = 1, .a0 = c->in0 + 1, .a1 = e, .kind = RK_ANSWER_DATE, .tier = 0};
    clause_question(q, c, &p);
}

/* The first date in the rest of c, after in, on, during, between (When),
 * since (Since when), until (Until when) or by (By when): "was launched in
 * 2004 at ..." gives "When was ... launched at ...?". */
static void rest_dates(qg *q, const clause *c) {
    if (is_w(q, c->s0, "there")) return;
    for (size_t k = c->vend; k + 1 < c->r2; k++) {
        const char *wh = NULL;
        if (!has(q, k, W_PREP)) continue;
        if (is_w(q, k, "in") || is_w(q, k, "on") || is_w(q, k, "during") || is_w(q, k, "between"))
            wh = "When";
        else if (is_w(q, k, "since"))
            wh = "Since when";
        else if (is_w(q, k, "until") || is_w(q, k, "till"))
            wh = "Until when";
        else if (is_w(q, k, "by"))
            wh = "By when";
        if (!wh) continue;
        size_t e = date_at(q, k + 1, c->r2, is_w(q, k, "in"));
        if (e == k + 1) continue;
        if (is_w(q, k, "between")) {
            size_t e2 = e < c->r2 && is_w(q, e, "and") ? date_at(q, e + 1, c->r2, 0) : e;
            if (e2 <= e + 1) return;
            e = e2;
        }
        /* a range or a list */
        if (e < c->end && (is_w(q, e, "to") || is_p(q, e, '-') || is_p(q, e, 0x2013) || is_w(q, e, "or") ||
                           (is_w(q, e, "and") && e + 1 < c->end && date_at(q, e + 1, c->end, 0) > e + 1)))
            return;
        clause cl;
        if (!retarget(q, c, k, &cl) || coordinated(q, cl.vend, k)) return;
        /* a date bound to something else: "until her retirement in 1979", "from about 900 in 1960" */
        for (size_t i = cl.vend; i < k; i++)
            if (is_w(q, i, "since") || is_w(q, i, "until") || is_w(q, i, "till") || is_w(q, i, "from") ||
                is_w(q, i, "before") || is_w(q, i, "after") || is_w(q, i, "between") || flag(q, i, T_YEAR))
                return;
        if (k > cl.vend && flag(q, k - 1, T_NUM | T_NUMW)) return;
        size_t cut = cl.r1;
        if (e < cut && (is_w(q, e, "and") || is_w(q, e, "or"))) cut = e;
        qspec p = {.wh = wh,
                   .d0 = k,
                   .d1 = e,
                   .cut = cut,
                   .a0 = is_w(q, k, "between") ? k : k + 1,
                   .a1 = e,
                   .kind = RK_ANSWER_DATE,
                   .tier = 0};
        clause_question(q, &cl, &p);
        return;
    }
}

/* "every three years", "four times a year", "once a year": How often. Fills
 * s and returns 1 when the rest has one at k. */
static int frequency_at(const qg *q, const clause *c, size_t k, qspec *s) {
    numph p;
    if (is_w(q, k, "every") && number_phrase(q, k + 1, c->r1, &p) && p.timeu && p.a1 == p.u1 &&
        p.a0 == k + 1) {
        s->wh = "How often", s->d0 = k, s->d1 = p.end, s->a0 = k, s->a1 = p.a1;
        return 1;
    }
    size_t t;
    if (has(q, k, W_FREQ))
        t = k + 1;
    else if (number_phrase(q, k, c->r1, &p) && p.a0 == k && p.a1 == k + 1 && k + 1 < c->r1 &&
             has(q, k + 1, W_TIMES))
        t = k + 2;
    else
        return 0;
    size_t e = rate_at(q, t, c->r1);
    if (e == t) return 0;
    s->wh = "How often", s->d0 = k, s->d1 = e, s->a0 = k, s->a1 = e;
    return 1;
}

/* "a crew of seven" (How many crew), "a maximum depth of 38 metres" (What
 * maximum depth), "a team of nine biologists" (How many biologists) as the
 * object at k. */
static int quantity_of(const qg *q, const clause *c, size_t k, qspec *s) {
    numph p;
    if (!(is_w(q, k, "a") || is_w(q, k, "an"))) return 0;
    size_t m = k + 1;
    while (m < c->r1 && m < k + 4 && noun_word(q, m))
        m++;
    if (m == k + 1 || m >= c->r1 || !is_w(q, m, "of") || !number_phrase(q, m + 1, c->r1, &p)) return 0;
    s->d0 = k, s->d1 = p.end, s->a0 = p.a0, s->a1 = p.a1;
    if (p.unit && !p.cur && p.madj == NONE && has(q, m - 1, W_MEASN)) {
        s->wh = "What", s->w0 = k + 1, s->w1 = m;
    } else if (!p.unit && !p.noun && has(q, m - 1, W_COLL)) {
        s->wh = "How many", s->w0 = k + 1, s->w1 = m;
    } else if (p.noun) {
        s->wh = "How many", s->w0 = p.u0, s->w1 = p.u1;
    } else {
        return 0;
    }
    return 1;
}

/* The question about the number phrase p at k of clause c (a copula's
 * complement, the object, after a preposition). 0 when none fits. */
static int number_question(const qg *q, const clause *c, size_t k, const numph *p, qspec *s) {
    size_t r0 = c->vend;
    int copula = c->aux != NONE && has(q, c->aux, W_BE) && c->v == NONE;
    int there = is_w(q, c->s0, "there") && !c->pron;
    /* where the number stands: the object; "for" or "within" a duration
     * (moved to the front); after "of", "to" or "for" close to the verb (left
     * at the end: "How many turbines does the fleet consist of?") */
    int front = 0, strand = 0;
    if (k == r0) {
    } else if ((is_w(q, k - 1, "for") || is_w(q, k - 1, "within")) && p->timeu && !copula) {
        front = 1;
    } else if (k - 1 <= r0 + 2 &&
               (is_w(q, k - 1, "of") || is_w(q, k - 1, "to") || is_w(q, k - 1, "for") ||
                (is_w(q, k - 1, "on") && !p->timeu) || is_w(q, k - 1, "into")) &&
               !p->cur && !p->pct && !copula) {
        strand = 1; /* "stored on two servers", not "falls on about twenty days" */
    } else {
        return 0;
    }
    for (size_t i = r0; i + 1 < k; i++)
        if (has(q, i, W_PREP) && strand) return 0; /* "carpets the mud at densities of up to 600" */
    s->a0 = p->a0, s->a1 = p->a1, s->d0 = front ? k - 1 : k, s->d1 = p->end;
    if (strand) s->cut = p->end; /* what follows belonged to the number's noun */
    if (copula) {
        if (p->madj != NONE) {
            s->wh = "How", s->w0 = p->madj, s->w1 = p->madj + 1; /* How long is ...? */
        } else if (there && p->noun) {
            s->wh = "How many", s->w0 = p->u0, s->w1 = p->u1;
        } else if ((p->unit || p->pct) && p->end == c->r1 && !there) {
            s->wh = "What", s->copula_subject = 1; /* What is the mean annual temperature? */
        } else {
            return 0;
        }
        return 1;
    }
    if (there) return 0;
    if (p->cur) {
        if (k != r0) return 0;
        s->wh = "How much";
        return 1;
    }
    if (p->pct) {
        s->wh = "What percentage";
        if (p->end + 1 < c->r1 && is_w(q, p->end, "of")) {
            size_t e = p->end + 1;
            while (e < c->r1 && e < p->end + 6 &&
                   (noun_word(q, e) || has(q, e, W_ART | W_POSS) || flag(q, e, T_POSS)))
                e++;
            s->w0 = p->end, s->w1 = e, s->d1 = e;
        }
        return 1;
    }
    if (p->timeu && c->v != NONE && !front) {
        /* "takes 1 hour and 50 minutes", "lasts about forty minutes": How long */
        char base[48];
        int last = 0;
        if (c->aux == NONE && do_support(q, c->v, base, sizeof base))
            last = !strcmp(base, "take") || !strcmp(base, "last");
        else if (c->aux != NONE)
            last = is_w(q, c->v, "taken") || is_w(q, c->v, "take") || is_w(q, c->v, "last");
        if (last && k == r0) {
            s->wh = "How long";
            return 1;
        }
    }
    if (p->madj != NONE) {
        s->wh = "How", s->w0 = p->madj, s->w1 = p->madj + 1;
        return 1;
    }
    if (!p->unit && !p->noun) return 0;
    s->wh = !front ? "How many" : is_w(q, k - 1, "for") ? "For how many" : "Within how many";
    s->w0 = p->u0, s->w1 = p->u1;
    return 1;
}

/* "How many laboratories are there below deck?" */
static void there_question(qg *q, const clause *c, const qspec *s) {
    qb_reset(q);
    qb_lit(q, s->wh);
    qb_toks(q, s->w0, s->w1, 0);
    qb_toks(q, c->aux, c->aux + 1, 0);
    qb_lit(q, "there");
    qb_toks(q, s->d1, s->cut ? s->cut : c->r1, 0);
    if (c->in0 < c->in1) {
        if (c->in_move != 1) return;
        size_t e = c->in1;
        if (is_p(q, e - 1, ',')) e--;
        qb_toks(q, c->in0, e, lower_first(q, c->in0));
    }
    add_question(q, q->tk[s->a0].s, q->tk[s->a1 - 1].e, s->kind, s->tier);
}

/* Token k can start one of the phrases rest_numbers reads: a number, an
 * approximator, "every", "at least", "a crew of", "once", "$". */
static int may_start_number(const qg *q, size_t k) {
    return flag(q, k, T_NUM | T_NUMW) || has(q, k, W_APPROX | W_FREQ | W_DET | W_PREP) ||
           is_currency_sign(q, k);
}

/* The first number in the rest of clause c, when a question fits it. */
static void rest_numbers(qg *q, const clause *c0) {
    int there = is_w(q, c0->s0, "there") && !c0->pron;
    for (size_t k = c0->vend; k < c0->r2; k++) {
        numph p;
        qspec s = {.kind = RK_ANSWER_NUMBER, .tier = 0};
        int found = 0;
        if (!may_start_number(q, k)) continue;
        clause cl;
        if (!retarget(q, c0, k, &cl)) continue;
        const clause *c = &cl;
        size_t r0 = c->vend;
        if (!there && frequency_at(q, c, k, &s))
            found = 1;
        else if (k == r0 && !there && quantity_of(q, c, k, &s))
            found = 1;
        else if (number_phrase(q, k, c->r1, &p)) {
            if (k > r0 && (has(q, k - 1, W_DET | W_POSS) || is_w(q, k - 1, "first") ||
                           is_w(q, k - 1, "next") || is_w(q, k - 1, "last")))
                return; /* "the next four slack waters" */
            if (!number_question(q, c, k, &p, &s)) return;
            found = 1;
        }
        if (!found) continue;
        if (coordinated(q, r0, s.d0)) return;
        if (!s.cut && s.d1 < c->r1 && (is_w(q, s.d1, "and") || is_w(q, s.d1, "or"))) s.cut = s.d1;
        if (there)
            there_question(q, c, &s);
        else
            clause_question(q, c, &s);
        return;
    }
}

/* ---- names and terms -------------------------------------------------------------- */

/* The comma at k goes on with a list: "flows through Brazil, Peru and
 * Colombia": a question cut at k would say less than the sentence. */
static int list_follows(const qg *q, size_t k, size_t end) {
    if (k + 1 >= end || !is_p(q, k, ',') || has(q, k + 1, W_PREP | W_CONJ) || ing_verb(q, k + 1)) return 0;
    for (size_t i = k + 1; i < end && i < k + 12; i++) {
        if (is_punct(q, i) && !is_p(q, i, ',') && !is_p(q, i, '&')) return 0;
        if (has(q, i, W_AUX | W_WH | W_SUB | W_PRON) || past_verb(q, i) || s_verb(q, i)) return 0;
        if (is_w(q, i, "and") || is_w(q, i, "or")) return i > k + 1;
    }
    return 0;
}

/* The subject is a proper name: "Who founded the station?" */
static void subject_name(qg *q, const clause *c) {
    if (c->pron || c->in_move != 1) return;
    size_t h1 = c->h1;
    if (is_p(q, h1 - 1, ')')) { /* "The Skarra kelp (Laminaria skarrensis)": the answer ends before it */
        while (h1 > c->s0 && !is_p(q, h1 - 1, '('))
            h1--;
        if (h1 > c->s0) h1--;
    }
    if (h1 <= c->s0) return;
    if (!name_phrase(q, c->s0, h1, 1)) {
        /* a name and a short phrase after it: "The Tide Board at the observatory entrance" */
        size_t p = c->s0 + 1;
        while (p < h1 && !has(q, p, W_PREP))
            p++;
        if (p >= h1 || h1 - p > 6 || !name_phrase(q, c->s0, p, 1)) return;
        for (size_t i = p; i < h1; i++)
            if (!flag(q, i, T_WORD) || has(q, i, W_WH | W_AUX | W_PRON) || past_verb(q, i)) return;
        h1 = p;
    }
    if (c->r1 <= c->vend && c->v == NONE) return;
    if (list_follows(q, c->r1, c->end)) return;
    int person = person_name(q, c->s0, h1, c);
    if (person < 0) return;
    if (c->aux != NONE && has(q, c->aux, W_BE) && c->v == NONE) {
        /* the complement must name something: "is the archivist", "is Halvard's best-loved celebration" */
        size_t k = c->vend;
        if (k >= c->r1) return;
        int ok = is_w(q, k, "the") || flag(q, k, T_POSS) || has(q, k, W_POSS) ||
                 (is_w(q, k, "one") && k + 1 < c->r1 && is_w(q, k + 1, "of")) ||
                 (person && has(q, k, W_ROLE) && flag(q, k, T_LOWER)) ||
                 (person && is_w(q, k, "responsible"));
        if (!ok) return;
    }
    size_t a0 = is_w(q, c->s0, "the") ? c->s0 + 1 : c->s0;
    qspec p = {
        .wh = person ? "Who" : "What", .subject = 1, .a0 = a0, .a1 = h1, .kind = RK_ANSWER_NAME, .tier = 0};
    clause_question(q, c, &p);
}

/* A proper name after a copula: "The capital of Halvard is Sørvik." */
static void complement_name(qg *q, const clause *c) {
    if (c->aux == NONE || !has(q, c->aux, W_BE) || c->v != NONE) return;
    size_t k = c->vend, e = c->r1;
    if (k >= e || is_w(q, c->s0, "there") || is_w(q, c->s0, "a") || is_w(q, c->s0, "an")) return;
    /* the subject needs a noun: not "the driest" */
    size_t h0 = has(q, c->s0, W_DET) ? c->s0 + 1 : c->s0;
    if (c->h1 <= h0) return;
    const char *hw = q->t + q->tk[c->h1 - 1].s;
    size_t hn = tlen(q, c->h1 - 1);
    if (c->h1 == h0 + 1 && hn > 4 && !memcmp(hw + hn - 3, "est", 3)) return;
    size_t n0 = k;
    if (list_follows(q, e, c->end)) return;
    if (!name_phrase(q, k, e, 0)) {
        /* "the summit of Kvarn Hill" */
        if (!is_w(q, k, "the")) return;
        size_t m = k + 1;
        while (m < e && m < k + 4 && noun_word(q, m))
            m++;
        if (m == k + 1 || m + 1 >= e || !is_w(q, m, "of") || !name_phrase(q, m + 1, e, 0)) return;
        n0 = m + 1;
    }
    int person = n0 == k ? person_name(q, n0, e, NULL) : 0;
    if (person < 0) return;
    size_t a0 = is_w(q, k, "the") ? k + 1 : k;
    qspec p = {.wh = person ? "Who" : "What",
               .copula_subject = 1,
               .a0 = a0,
               .a1 = e,
               .kind = RK_ANSWER_NAME,
               .tier = 1};
    clause_question(q, c, &p);
}

/* A proper name as the object, or the agent of a passive: "The
 * observatory relied on the MV Tern" gives "What did the observatory rely
 * on?", "The first lantern is lit by the Keeper of the Lamp" gives "Who is
 * the first lantern lit by?"; after on, in or at, the name of a place or a
 * firm gives Where ("Where does the visitor centre stand?"). Other
 * prepositions (to, from) and names that may be people's are left alone. */
static void object_name(qg *q, const clause *c) {
    if (c->v == NONE || is_w(q, c->s0, "there")) return;
    size_t k = c->vend, e = c->r1;
    if (k >= e) return;
    int passive = c->aux != NONE && has(q, c->aux, W_BE) && part_verb(q, c->v);
    size_t prep = NONE;
    if (has(q, k, W_PREP)) prep = k++;
    if (k >= e || !name_phrase(q, k, e, 0) || list_follows(q, e, c->end)) return;
    int person = person_name(q, k, e, NULL);
    if (person < 0) return;
    /* "stands on Harbour Row", "works at Hask & Sons": Where */
    int place = 0;
    for (size_t i = k; i < e; i++)
        place |= has(q, i, W_PLACE | W_ORG) && flag(q, i, T_CAP);
    place = place && !person && prep != NONE &&
            (is_w(q, prep, "on") || is_w(q, prep, "in") || is_w(q, prep, "at"));
    if (passive ? prep == NONE || !is_w(q, prep, "by")
                : prep != NONE && !place &&
                      !(is_w(q, prep, "of") || is_w(q, prep, "for") || is_w(q, prep, "with") ||
                        is_w(q, prep, "on")))
        return;
    qspec p = {.wh = place    ? "Where"
                     : person ? "Who"
                              : "What",
               .d0 = place ? prep : k,
               .d1 = e,
               .a0 = is_w(q, k, "the") ? k + 1 : k,
               .a1 = e,
               .kind = RK_ANSWER_NAME,
               .tier = 1};
    clause_question(q, c, &p);
}

/* "Slack water: the short period around high and low water when ..." */
static void glossary(qg *q, size_t a, size_t b) {
    size_t colon = NONE;
    for (size_t k = a; k < b && k < a + 6; k++)
        if (is_p(q, k, ':')) {
            colon = k;
            break;
        }
    if (colon == NONE || colon == a || colon + 3 > b || !flag(q, a, T_CAP)) return;
    for (size_t k = a; k < colon; k++)
        if (!flag(q, k, T_WORD) || has(q, k, W_AUX | W_WH | W_SUB | W_PRON)) return;
    size_t d = colon + 1;
    if (!flag(q, d, T_LOWER) || !has(q, d, W_ART | W_POSS)) return;
    if (b - d > 28) return;
    int named = colon - a >= 2 && flag(q, colon - 1, T_CAP) && is_w(q, d, "the");
    qb_reset(q);
    qb_lit(q, named ? "What is the name of" : "What is the term for");
    qb_toks(q, d, b, 0);
    add_question(q, q->tk[a].s, q->tk[colon - 1].e, RK_ANSWER_TERM, 1);
}

/* "Retrieval-augmented generation (RAG)": "What does RAG stand for?" */
static void acronyms(qg *q, size_t a, size_t b) {
    for (size_t k = a + 1; k + 2 < b; k++) {
        if (!is_p(q, k, '(') || !is_p(q, k + 2, ')')) continue;
        size_t ac = k + 1;
        if (!flag(q, ac, T_ALLCAP) || !flag(q, ac, T_ASCII) || flag(q, ac, T_DIGIT | T_HYPH)) continue;
        const char *s = q->t + q->tk[ac].s;
        size_t n = tlen(q, ac);
        if (n < 2 || n > 8) continue;
        /* match the letters against initials, back from the parenthesis */
        size_t letter = n, w = k, start = NONE;
        while (letter > 0 && w > a) {
            w--;
            if (!flag(q, w, T_WORD) || !flag(q, w, T_ASCII)) break;
            const char *ws = q->t + q->tk[w].s;
            size_t wn = tlen(q, w);
            /* the parts of a hyphenated word, last first */
            size_t pe = wn;
            int ok = 1;
            while (pe > 0 && letter > 0) {
                size_t ps = pe;
                while (ps > 0 && ws[ps - 1] != '-')
                    ps--;
                char ini = ws[ps];
                if ((ini | 32) == (s[letter - 1] | 32))
                    letter--;
                else if (ps == 0 && (has(q, w, W_ART | W_PREP | W_CONJ)) && letter < n) {
                } else {
                    ok = 0;
                    break;
                }
                pe = ps ? ps - 1 : 0;
                if (ps == 0) break;
            }
            if (!ok) break;
            if (letter == 0) start = w;
        }
        if (start == NONE) continue;
        if (has(q, start, W_ART)) continue;
        qb_reset(q);
        qb_lit(q, "What does");
        qb_toks(q, ac, ac + 1, 0);
        qb_lit(q, "stand for");
        add_question(q, q->tk[start].s, q->tk[k - 1].e, RK_ANSWER_TERM, 1);
    }
}

/* "A mutex is a lock that ...": "What is a lock that ... called?" */
static void definition(qg *q, size_t a, size_t b) {
    if (!(is_w(q, a, "a") || is_w(q, a, "an"))) return;
    size_t k = a + 1;
    while (k < b && k < a + 4 && noun_word(q, k))
        k++;
    if (k == a + 1 || k + 3 >= b || !(is_w(q, k, "is")) || !(is_w(q, k + 1, "a") || is_w(q, k + 1, "an")))
        return;
    if (b - (k + 1) > 24) return;
    for (size_t i = k + 1; i < b; i++)
        if (is_p(q, i, ';') || is_p(q, i, ':')) return;
    qb_reset(q);
    qb_lit(q, "What is");
    qb_toks(q, k + 1, b, 0);
    qb_lit(q, "called");
    add_question(q, q->tk[a + 1].s, q->tk[k - 1].e, RK_ANSWER_TERM, 1);
}

/* ---- the generator ------------------------------------------------------------------ */

/* All the questions of sentence si, in the order the clause rules give them. */
static void analyze_sentence(qg *q, size_t si, antecedent *ante) {
    const sent *S = &q->sv[si];
    size_t a = S->t0, b = S->t1;
    q->cur_sent = si;
    q->order = 0;
    if (ante->set && ante->para != S->para) ante->set = 0;
    glossary(q, a, b);
    acronyms(q, a, b);
    definition(q, a, b);
    /* a clause starts the sentence, and after ";", ":" and ", and" (", but" ...) */
    size_t starts[8];
    size_t ns = 0;
    starts[ns++] = a;
    for (size_t k = a + 1; k + 2 < b && ns < 8; k++) {
        if (is_p(q, k, ';') || is_p(q, k, ':'))
            starts[ns++] = k + 1;
        else if (is_p(q, k, ',') && has(q, k + 1, W_CONJ | W_SUB) &&
                 (is_w(q, k + 1, "and") || is_w(q, k + 1, "but") || is_w(q, k + 1, "while") ||
                  is_w(q, k + 1, "whereas") || is_w(q, k + 1, "yet")))
            starts[ns++] = k + 2;
    }
    for (size_t i = 0; i < ns; i++) {
        clause c;
        if (!parse_clause(q, starts[i], b, ante, &c)) {
            if (i == 0) memset(ante, 0, sizeof *ante);
            continue;
        }
        intro_date(q, &c);
        rest_dates(q, &c);
        rest_numbers(q, &c);
        subject_name(q, &c);
        complement_name(q, &c);
        object_name(q, &c);
        update_antecedent(q, &c, S->para, ante);
    }
}

/* Orders candidates by round, tier, sentence and generation. */
static int cand_cmp(const void *x, const void *y) {
    const cand *a = x, *b = y;
    if (a->round != b->round) return a->round < b->round ? -1 : 1;
    if (a->tier != b->tier) return a->tier < b->tier ? -1 : 1;
    if (a->sent != b->sent) return a->sent < b->sent ? -1 : 1;
    return a->order < b->order ? -1 : a->order > b->order;
}

/* Orders candidates by sentence, tier and generation. */
static int cand_cmp_sent(const void *x, const void *y) {
    const cand *a = x, *b = y;
    if (a->sent != b->sent) return a->sent < b->sent ? -1 : 1;
    if (a->tier != b->tier) return a->tier < b->tier ? -1 : 1;
    return a->order < b->order ? -1 : a->order > b->order;
}

static uint64_t icase_hash(const char *s) {
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        h = (h ^ (c >= 'A' && c <= 'Z' ? c + 32 : c)) * 1099511628211ull;
    }
    return h;
}

/* Drops repeated questions (keeping the one of the strongest tier, then the
 * first sentence), numbers each sentence's questions (its best is round 0)
 * and sorts by round, tier and sentence: each sentence gives its best
 * question before any gives a second. 0, or -1 when out of memory. */
static int rank(qg *q) {
    if (!q->nc) return 0;
    qsort(q->cv, q->nc, sizeof *q->cv, cand_cmp);
    size_t cap = 16;
    while (cap < 2 * q->nc)
        cap *= 2;
    size_t *slot = malloc(cap * sizeof *slot); /* index + 1 of the candidate kept for a hash */
    if (!slot) return -1;
    memset(slot, 0, cap * sizeof *slot);
    size_t m = 0;
    for (size_t i = 0; i < q->nc; i++) {
        uint64_t h = icase_hash(q->cv[i].q);
        size_t k = h & (cap - 1);
        int dup = 0;
        for (; slot[k]; k = (k + 1) & (cap - 1))
            if (!strcasecmp(q->cv[slot[k] - 1].q, q->cv[i].q)) {
                dup = 1;
                break;
            }
        if (dup) {
            free(q->cv[i].q);
            continue;
        }
        q->cv[m] = q->cv[i];
        slot[k] = ++m;
    }
    free(slot);
    q->nc = m;
    qsort(q->cv, q->nc, sizeof *q->cv, cand_cmp_sent);
    int round = 0;
    for (size_t i = 0; i < q->nc; i++) {
        if (i == 0 || q->cv[i].sent != q->cv[i - 1].sent) round = 0;
        q->cv[i].round = round++;
    }
    qsort(q->cv, q->nc, sizeof *q->cv, cand_cmp);
    return 0;
}

/* Splits text into sentences and tokens, marks paragraphs, headings and
 * capitalized words. */
static rk_status prepare(qg *q, rk_error *err) {
    rk_span *sp = NULL;
    size_t nsp = 0;
    rk_status st = rk_text_sentences(q->t, q->n, &sp, &nsp, err);
    if (st) return st;
    q->sv = calloc(nsp ? nsp : 1, sizeof *q->sv);
    if (!q->sv) {
        free(sp);
        return rk_fail(err, RK_ENOMEM, "out of memory generating questions");
    }
    int para = 0;
    size_t prev_end = 0;
    for (size_t i = 0; i < nsp; i++) {
        int nl = 0;
        for (size_t k = prev_end; k < sp[i].start; k++)
            nl += q->t[k] == '\n';
        if (nl >= 2) para++;
        prev_end = sp[i].end;
        sent *S = &q->sv[q->ns++];
        S->s = sp[i].start;
        S->e = sp[i].end;
        S->para = para;
        S->t0 = q->ntk;
        if (tokenize(q, sp[i].start, sp[i].end)) {
            free(sp);
            return rk_fail(err, RK_ENOMEM, "out of memory generating questions");
        }
        S->t1 = q->ntk;
        if (S->t1 > S->t0 && q->tk[S->t1 - 1].cp == '.') {
            S->t1--;
            S->t0 = skip_headings(q, S->t0, S->t1);
            S->ok = S->t1 > S->t0 && S->t1 - S->t0 <= MAX_SENT_TOKENS;
        }
        if (S->t1 > S->t0) q->tk[S->t0].f |= T_START;
    }
    free(sp);
    size_t cap = 64;
    while (cap < 2 * q->ntk + 16)
        cap *= 2;
    q->caps = calloc(cap, sizeof *q->caps);
    q->pers = calloc(cap, sizeof *q->pers);
    if (!q->caps || !q->pers) return rk_fail(err, RK_ENOMEM, "out of memory generating questions");
    q->caps_mask = cap - 1;
    for (size_t i = 0; i < q->ns; i++) {
        const sent *S = &q->sv[i];
        if (!S->ok) continue;
        for (size_t k = S->t0 + 1; k < S->t1; k++) {
            int32_t before = q->tk[k - 1].cp;
            if (flag(q, k, T_CAP) && flag(q, k, T_WORD) && before != '"' && before != 0x201C && before != ':')
                set_add(q->caps, q->caps_mask, word_hash(q, k));
        }
    }
    for (size_t k = 0; k + 1 < q->ntk; k++) {
        if (!flag(q, k, T_CAP) || !has(q, k, W_GIVEN | W_TITLE)) continue;
        size_t e = k + 1;
        while (e < q->ntk && flag(q, e, T_WORD) && flag(q, e, T_CAP) && !has(q, e, W_FUNC))
            e++;
        if (e > k + 1) set_add(q->pers, q->caps_mask, word_hash(q, e - 1));
    }
    return RK_OK;
}

static void qg_free(qg *q) {
    for (size_t i = 0; i < q->nc; i++)
        free(q->cv[i].q);
    free(q->cv);
    free(q->tk);
    free(q->sv);
    free(q->caps);
    free(q->pers);
    free(q->b);
}

rk_status rk_qgen_offline(const char *text, size_t n, size_t max, rk_qa **out, size_t *count, rk_error *err) {
    *out = NULL;
    *count = 0;
    pthread_once(&lex_once, lex_index);
    if (!text || !n || !max) return RK_OK;
    qg q = {.t = text, .n = n};
    rk_status st = prepare(&q, err);
    if (!st) {
        antecedent ante = {0};
        for (size_t i = 0; i < q.ns && !q.oom; i++)
            if (q.sv[i].ok)
                analyze_sentence(&q, i, &ante);
            else
                memset(&ante, 0, sizeof ante);
        if (q.oom) st = rk_fail(err, RK_ENOMEM, "out of memory generating questions");
    }
    if (st) {
        qg_free(&q);
        return st;
    }
    if (rank(&q)) {
        qg_free(&q);
        return rk_fail(err, RK_ENOMEM, "out of memory generating questions");
    }
    size_t m = q.nc < max ? q.nc : max;
    rk_qa *v = m ? calloc(m, sizeof *v) : NULL;
    if (m && !v) {
        qg_free(&q);
        return rk_fail(err, RK_ENOMEM, "out of memory generating questions");
    }
    for (size_t i = 0; i < m; i++) {
        cand *c = &q.cv[i];
        const sent *S = &q.sv[c->sent];
        v[i].answer = malloc(c->ae - c->as + 1);
        if (!v[i].answer) {
            rk_qa_free(v, i);
            qg_free(&q);
            return rk_fail(err, RK_ENOMEM, "out of memory generating questions");
        }
        memcpy(v[i].answer, text + c->as, c->ae - c->as);
        v[i].answer[c->ae - c->as] = 0;
        v[i].question = c->q;
        c->q = NULL;
        v[i].ans_start = c->as;
        v[i].ans_end = c->ae;
        v[i].sent_start = S->s;
        v[i].sent_end = S->e;
        v[i].kind = c->kind;
    }
    qg_free(&q);
    *out = v;
    *count = m;
    return RK_OK;
}

void rk_qa_free(rk_qa *qa, size_t count) {
    if (!qa) return;
    for (size_t i = 0; i < count; i++) {
        free(qa[i].question);
        free(qa[i].answer);
    }
    free(qa);
}

const char *rk_answer_kind_name(rk_answer_kind k) {
    switch (k) {
    case RK_ANSWER_NUMBER: return "number";
    case RK_ANSWER_DATE: return "date";
    case RK_ANSWER_NAME: return "name";
    case RK_ANSWER_TERM: return "term";
    }
    return "unknown";
}
