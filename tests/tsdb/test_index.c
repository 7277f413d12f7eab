/* Tests for tsdb/index.c: matcher semantics and postings set operations, checked against a
 * brute-force evaluation over every series. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "tests/tsdb/tsdb_testutil.h"

/* An empty in-memory tsdb without retention. */
static tsdb *open_db(void)
{
	tsdb_options o;
	tsdb_options_default(&o);
	o.retention_ms = 0;
	tsdb *db;
	char err[128];
	assert_int_equal(tsdb_open(&o, &db, err, sizeof(err)), 0);
	return db;
}

static tsdb *fixture(void)
{
	tsdb *db = open_db();
	tsdb_appender *a = tsdb_appender_new(db);
	const char *sets[] = {
		"__name__=http_requests_total,job=api,code=200",
		"__name__=http_requests_total,job=api,code=500",
		"__name__=http_requests_total,job=web,code=200,env=prod",
		"__name__=http_requests_total,job=web,code=404,env=",   /* env="" == absent */
		"__name__=up,job=api",
		"__name__=up,job=web,env=dev",
	};
	for (size_t i = 0; i < sizeof(sets) / sizeof(sets[0]); i++) {
		tu_labels l;
		const slod_labels *ls = tu_parse(&l, sets[i]);
		/* drop empty values, as ingest does */
		slod_labels c = *ls;
		size_t w = 0;
		for (size_t k = 0; k < c.n; k++)
			if (c.v[k].value[0])
				c.v[w++] = c.v[k];
		c.n = w;
		assert_int_equal(tsdb_appender_add(a, &c, 1000, (double)i, NULL), 0);
	}
	assert_int_equal(tsdb_appender_commit(a), 0);
	tsdb_appender_free(a);
	return db;
}

static size_t sel(tsdb *db, const tsdb_matcher *m, size_t nm, char *out)
{
	return tu_select(db, INT64_MIN, INT64_MAX, m, nm, out, 4096);
}

static void test_matchers(void **state)
{
	(void)state;
	tsdb *db = fixture();
	char out[4096];
	tu_re r1, r2;

	tsdb_matcher eq[2] = {tu_m(TSDB_MATCH_EQ, "__name__", "http_requests_total", NULL),
			      tu_m(TSDB_MATCH_EQ, "code", "200", NULL)};
	assert_int_equal(sel(db, eq, 2, out), 2);
	/* labels_cmp order: at the third pair, env < job */
	assert_string_equal(out, "{__name__=\"http_requests_total\", code=\"200\", env=\"prod\", job=\"web\"};"
				 "{__name__=\"http_requests_total\", code=\"200\", job=\"api\"}");

	/* != keeps series without the label */
	tsdb_matcher neq[2] = {tu_m(TSDB_MATCH_EQ, "job", "web", NULL), tu_m(TSDB_MATCH_NEQ, "env", "prod", NULL)};
	assert_int_equal(sel(db, neq, 2, out), 2);
	assert_string_equal(out, "{__name__=\"http_requests_total\", code=\"404\", job=\"web\"};"
				 "{__name__=\"up\", env=\"dev\", job=\"web\"}");

	/* env="" selects series without env */
	tsdb_matcher emp[1] = {tu_m(TSDB_MATCH_EQ, "env", "", NULL)};
	assert_int_equal(sel(db, emp, 1, out), 4);
	/* env!="" selects series with env */
	tsdb_matcher nemp[1] = {tu_m(TSDB_MATCH_NEQ, "env", "", NULL)};
	assert_int_equal(sel(db, nemp, 1, out), 2);

	/* regex, anchored */
	tsdb_matcher re[1] = {tu_m(TSDB_MATCH_RE, "code", "2..|4..", &r1)};
	assert_int_equal(sel(db, re, 1, out), 3);
	regfree(&r1.re);
	tsdb_matcher re_anch[1] = {tu_m(TSDB_MATCH_RE, "code", "0", &r1)};
	assert_int_equal(sel(db, re_anch, 1, out), 0);
	regfree(&r1.re);
	/* regex matching the empty string includes series without the label */
	tsdb_matcher re_empty[2] = {tu_m(TSDB_MATCH_EQ, "__name__", "up", NULL), tu_m(TSDB_MATCH_RE, "env", "dev|", &r1)};
	assert_int_equal(sel(db, re_empty, 2, out), 2);
	regfree(&r1.re);
	tsdb_matcher re_dotstar[1] = {tu_m(TSDB_MATCH_RE, "nonexistent", ".*", &r1)};
	assert_int_equal(sel(db, re_dotstar, 1, out), 6);
	regfree(&r1.re);
	tsdb_matcher re_plus[1] = {tu_m(TSDB_MATCH_RE, "nonexistent", ".+", &r1)};
	assert_int_equal(sel(db, re_plus, 1, out), 0);
	regfree(&r1.re);

	/* !~ */
	tsdb_matcher nre[2] = {tu_m(TSDB_MATCH_RE, "__name__", "http_.*", &r1), tu_m(TSDB_MATCH_NRE, "code", "2..", &r2)};
	assert_int_equal(sel(db, nre, 2, out), 2);
	assert_string_equal(out, "{__name__=\"http_requests_total\", code=\"404\", job=\"web\"};"
				 "{__name__=\"http_requests_total\", code=\"500\", job=\"api\"}");
	regfree(&r1.re);
	regfree(&r2.re);
	/* !~ that matches nothing excluded keeps series without the label */
	tsdb_matcher nre2[1] = {tu_m(TSDB_MATCH_NRE, "env", "prod", &r1)};
	assert_int_equal(sel(db, nre2, 1, out), 5);
	regfree(&r1.re);

	/* unknown name or value */
	tsdb_matcher unk[1] = {tu_m(TSDB_MATCH_EQ, "job", "nope", NULL)};
	assert_int_equal(sel(db, unk, 1, out), 0);
	tsdb_matcher unk2[1] = {tu_m(TSDB_MATCH_NEQ, "nope", "x", NULL)};
	assert_int_equal(sel(db, unk2, 1, out), 6);
	/* no matchers: everything */
	assert_int_equal(sel(db, NULL, 0, out), 6);
	/* regex matcher without callback is rejected */
	tsdb_matcher bad = {TSDB_MATCH_RE, "job", "x", NULL, NULL};
	tsdb_querier *q = tsdb_querier_open(db, 0, INT64_MAX);
	tsdb_series *ss;
	size_t n;
	assert_int_equal(tsdb_querier_select(q, &bad, 1, &ss, &n), TSDB_ERR_INVALID);
	tsdb_querier_close(q);
	tsdb_close(db);
}

/* ---- randomized comparison with brute force ---- */

static uint64_t rng = 88172645463325252ull;
static uint64_t xr(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static bool brute(const slod_labels *ls, const tsdb_matcher *m, size_t nm)
{
	for (size_t i = 0; i < nm; i++) {
		const char *v = labels_get(ls, m[i].name);
		if (!v)
			v = "";
		bool ok;
		switch (m[i].type) {
		case TSDB_MATCH_EQ: ok = strcmp(v, m[i].value) == 0; break;
		case TSDB_MATCH_NEQ: ok = strcmp(v, m[i].value) != 0; break;
		case TSDB_MATCH_RE: ok = m[i].re_match(m[i].re, v, strlen(v)); break;
		default: ok = !m[i].re_match(m[i].re, v, strlen(v)); break;
		}
		if (!ok)
			return false;
	}
	return true;
}

static void test_random_vs_brute(void **state)
{
	(void)state;
	tsdb *db = open_db();
	tsdb_appender *a = tsdb_appender_new(db);
	enum { NS = 3000 };
	static const char *names[] = {"a", "b", "c", "d"};
	for (int i = 0; i < NS; i++) {
		slod_label lv[6];
		char vals[5][16];
		size_t n = 0;
		snprintf(vals[0], 16, "%d", i);
		lv[n++] = (slod_label){"__name__", "m"};
		for (int k = 0; k < 4; k++) {
			if (xr() % 4 == 0)
				continue; /* label absent */
			snprintf(vals[k + 1], 16, "%d", (int)(xr() % (3 + 10 * k)));
			lv[n++] = (slod_label){names[k], vals[k + 1]};
		}
		char id[16];
		snprintf(id, sizeof(id), "%d", i);
		lv[n++] = (slod_label){"id", id};
		slod_labels ls = {lv, n};
		labels_sort(&ls);
		assert_true(tsdb_appender_add(a, &ls, 1000, 1, NULL) >= 0);
	}
	assert_int_equal(tsdb_appender_commit(a), 0);
	tsdb_appender_free(a);

	tsdb_querier *q = tsdb_querier_open(db, INT64_MIN, INT64_MAX);
	tsdb_series *all;
	size_t nall;
	assert_int_equal(tsdb_querier_select(q, NULL, 0, &all, &nall), 0);
	assert_int_equal(nall, NS);
	static const char *pats[] = {"1", "1|2", "", "1.*", ".*", "[0-2]", "2.+"};
	for (int iter = 0; iter < 400; iter++) {
		tsdb_matcher m[3];
		tu_re res[3];
		char vbuf[3][8];
		size_t nm = 1 + xr() % 3;
		for (size_t i = 0; i < nm; i++) {
			tsdb_match_type ty = (tsdb_match_type)(xr() % 4);
			const char *name = names[xr() % 4];
			if (ty == TSDB_MATCH_EQ || ty == TSDB_MATCH_NEQ) {
				int v = (int)(xr() % 8) - 1;
				if (v < 0)
					vbuf[i][0] = 0;
				else
					snprintf(vbuf[i], 8, "%d", v);
				m[i] = tu_m(ty, name, vbuf[i], NULL);
			} else {
				m[i] = tu_m(ty, name, pats[xr() % 7], &res[i]);
			}
		}
		tsdb_series *ss;
		size_t n;
		assert_int_equal(tsdb_querier_select(q, m, nm, &ss, &n), 0);
		size_t want = 0, j = 0;
		for (size_t i = 0; i < nall; i++) {
			if (!brute(all[i].labels, m, nm))
				continue;
			want++;
			/* both lists are in labels order */
			assert_true(j < n);
			assert_int_equal(ss[j].ref, all[i].ref);
			j++;
		}
		assert_int_equal(n, want);
		for (size_t i = 0; i < nm; i++)
			if (m[i].type == TSDB_MATCH_RE || m[i].type == TSDB_MATCH_NRE)
				regfree(&res[i].re);
	}
	tsdb_querier_close(q);
	tsdb_close(db);
}

/* Large unions (radix-sorted) and intersections. */
static void test_large_sets(void **state)
{
	(void)state;
	tsdb *db = open_db();
	tsdb_appender *a = tsdb_appender_new(db);
	enum { NS = 30000 };
	for (int i = 0; i < NS; i++) {
		char v[8], w[8], id[8];
		snprintf(v, sizeof(v), "%d", i % 10);
		snprintf(w, sizeof(w), "%d", (i * 7) % 3);
		snprintf(id, sizeof(id), "%d", i);
		slod_label lv[4] = {{"__name__", "big"}, {"id", id}, {"v", v}, {"w", w}};
		slod_labels ls = {lv, 4};
		assert_int_equal(tsdb_appender_add(a, &ls, 1000, i, NULL), 0);
	}
	assert_int_equal(tsdb_appender_commit(a), 0);
	tsdb_appender_free(a);
	tsdb_querier *q = tsdb_querier_open(db, INT64_MIN, INT64_MAX);
	tu_re r1, r2;
	tsdb_matcher m[2] = {tu_m(TSDB_MATCH_RE, "v", "[0-6]", &r1), tu_m(TSDB_MATCH_NRE, "w", "1", &r2)};
	tsdb_series *ss;
	size_t n;
	assert_int_equal(tsdb_querier_select(q, m, 1, &ss, &n), 0);
	assert_int_equal(n, NS / 10 * 7);
	assert_int_equal(tsdb_querier_select(q, m, 2, &ss, &n), 0);
	size_t want = 0;
	for (int i = 0; i < NS; i++)
		if (i % 10 <= 6 && (i * 7) % 3 != 1)
			want++;
	assert_int_equal(n, want);
	for (size_t i = 0; i < n; i++) {
		const char *v = labels_get(ss[i].labels, "v"), *w = labels_get(ss[i].labels, "w");
		assert_true(v[0] <= '6' && w[0] != '1');
		if (i)
			assert_true(labels_cmp(ss[i - 1].labels, ss[i].labels) < 0);
	}
	regfree(&r1.re);
	regfree(&r2.re);
	tsdb_querier_close(q);
	tsdb_close(db);
}

/* Many label names: the name table (64 slots at first, grown at 3/4 load) is rehashed several
 * times, each name's value table from 4 slots up; every entry must stay reachable. */
static void test_many_names(void **state)
{
	(void)state;
	tsdb *db = open_db();
	tsdb_appender *a = tsdb_appender_new(db);
	enum { NN = 300 };
	for (int i = 0; i < NN; i++) {
		char name[16], val[16];
		snprintf(name, sizeof(name), "l%03d", i);
		snprintf(val, sizeof(val), "x%d", i);
		slod_label lv[3] = {{"__name__", "many"}, {"k", val}, {name, val}};
		slod_labels ls = {lv, 3};
		assert_int_equal(tsdb_appender_add(a, &ls, 1000, i, NULL), 0);
	}
	assert_int_equal(tsdb_appender_commit(a), 0);
	tsdb_appender_free(a);
	tsdb_querier *q = tsdb_querier_open(db, INT64_MIN, INT64_MAX);
	const char **names;
	size_t nn;
	assert_int_equal(tsdb_querier_label_names(q, NULL, 0, &names, &nn), 0);
	assert_int_equal(nn, NN + 2);
	for (int i = 0; i < NN; i++) {
		char name[16], val[16];
		snprintf(name, sizeof(name), "l%03d", i);
		snprintf(val, sizeof(val), "x%d", i);
		tsdb_matcher m[2] = {tu_m(TSDB_MATCH_EQ, name, val, NULL), tu_m(TSDB_MATCH_EQ, "k", val, NULL)};
		tsdb_series *ss;
		size_t n;
		assert_int_equal(tsdb_querier_select(q, m, 1, &ss, &n), 0);
		assert_int_equal(n, 1);
		assert_string_equal(labels_get(ss[0].labels, "k"), val);
		assert_int_equal(tsdb_querier_select(q, m + 1, 1, &ss, &n), 0);
		assert_int_equal(n, 1);
		assert_string_equal(labels_get(ss[0].labels, name), val);
	}
	tsdb_querier_close(q);
	tsdb_close(db);
}

static void test_cardinality(void **state)
{
	(void)state;
	tsdb *db = fixture();
	tsdb_cardinality c;
	assert_int_equal(tsdb_get_cardinality(db, 2, &c), 0);
	assert_int_equal(c.n_series_by_metric, 2);
	assert_string_equal(c.series_by_metric[0].name, "http_requests_total");
	assert_int_equal(c.series_by_metric[0].value, 4);
	assert_string_equal(c.series_by_metric[1].name, "up");
	assert_int_equal(c.series_by_metric[1].value, 2);
	assert_int_equal(c.n_values_by_label, 2);
	assert_string_equal(c.values_by_label[0].name, "code");
	assert_int_equal(c.values_by_label[0].value, 3);
	assert_int_equal(c.n_series_by_label_pair, 2);
	assert_string_equal(c.series_by_label_pair[0].name, "__name__=http_requests_total");
	assert_int_equal(c.series_by_label_pair[0].value, 4);
	assert_int_equal(c.n_memory_by_label, 2);
	assert_string_equal(c.memory_by_label[0].name, "__name__");
	/* value bytes times series: 4 x "http_requests_total" + 2 x "up" */
	assert_int_equal(c.memory_by_label[0].value, 4 * strlen("http_requests_total") + 2 * strlen("up"));
	tsdb_cardinality_free(&c);
	tsdb_close(db);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_matchers),
		cmocka_unit_test(test_random_vs_brute),
		cmocka_unit_test(test_large_sets),
		cmocka_unit_test(test_many_names),
		cmocka_unit_test(test_cardinality),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
