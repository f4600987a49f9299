// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The documentation as a reader follows it: every relative markdown link in
 * README.md and the docs/ pages names a file or folder that exists (relative to
 * the linking page; a leading '/' means the repository root), and every
 * #anchor names a heading of its target page by GitHub's slug rules
 * (lowercase; a space becomes '-'; punctuation other than '-' and '_' is
 * dropped; a repeated slug gets -1, -2, ...). Links in fenced code blocks
 * and inline code are not links; http(s) and mailto targets are not
 * checked. README.md stays a front door: at most 250 lines, with a source
 * map that names every folder of the tree's first level (and of user/ and
 * deploy/). Only ATX headings ("## Title") are seen, and non-ASCII
 * characters are dropped from slugs (GitHub keeps non-ASCII letters; our
 * headings have none). Run from the repository root, as tests/run.sh does;
 * needs no privilege.
 */
#include <dirent.h>
#include <errno.h>
#include <glob.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "flb_test.h"

#define README_MAX_LINES 250
#define MAX_SLUGS 512
#define SLUG_LEN 128

static char *read_text(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t len = 0;
	FILE *out;
	int c;

	if (!f)
		return NULL;
	out = open_memstream(&buf, &len);
	if (!out) {
		fclose(f);
		return NULL;
	}
	while ((c = fgetc(f)) != EOF)
		fputc(c, out);
	fclose(f);
	fclose(out);
	return buf;
}

/* GitHub's anchor for a heading's text (see the top of the file). Link
 * syntax inside a heading keeps only its text. */
static void slugify(const char *text, size_t len, char *out, size_t out_len)
{
	size_t o = 0;

	for (size_t i = 0; i < len && o + 1 < out_len; i++) {
		unsigned char c = (unsigned char)text[i];

		if (c == ']' && i + 1 < len && text[i + 1] == '(') {
			while (i < len && text[i] != ')')
				i++;
			continue;
		}
		if (c >= 'A' && c <= 'Z')
			out[o++] = (char)(c - 'A' + 'a');
		else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_')
			out[o++] = (char)c;
		else if (c == ' ')
			out[o++] = '-';
	}
	out[o] = 0;
}

struct page {
	char base[MAX_SLUGS][SLUG_LEN];      /* the heading's own slug */
	char slugs[MAX_SLUGS][SLUG_LEN + 8]; /* with -N when it repeats */
	int n;
};

/* A fence opens with 3+ backticks or tildes after at most 3 spaces and
 * closes with at least as many of the same character. */
static bool fence_line(const char *line, char *ch, size_t *n)
{
	size_t i = 0, k = 0;

	while (i < 3 && line[i] == ' ')
		i++;
	if (line[i] != '`' && line[i] != '~')
		return false;
	while (line[i + k] == line[i])
		k++;
	if (k < 3)
		return false;
	*ch = line[i];
	*n = k;
	return true;
}

/* Calls fn(line_no, line, len, arg) for every line outside fenced code. */
static void each_prose_line(const char *text, void (*fn)(int, const char *, size_t, void *),
			    void *arg)
{
	char fence = 0, ch;
	size_t fence_n = 0, n;
	int no = 0;

	for (const char *p = text; *p;) {
		const char *end = strchr(p, '\n');
		size_t len = end ? (size_t)(end - p) : strlen(p);

		no++;
		if (fence_line(p, &ch, &n)) {
			if (!fence) {
				fence = ch;
				fence_n = n;
			} else if (ch == fence && n >= fence_n) {
				fence = 0;
			}
		} else if (!fence) {
			fn(no, p, len, arg);
		}
		p += len + (end ? 1 : 0);
	}
}

static void collect_heading(int no, const char *line, size_t len, void *arg)
{
	struct page *pg = arg;
	char slug[SLUG_LEN];
	size_t i = 0, end = len;
	int dup = 0;

	(void)no;
	while (i < len && i < 6 && line[i] == '#')
		i++;
	if (i == 0 || i == len || line[i] != ' ' || pg->n == MAX_SLUGS)
		return;
	while (end > i && (line[end - 1] == '#' || line[end - 1] == ' '))
		end--;
	while (i < end && line[i] == ' ')
		i++;
	slugify(line + i, end - i, slug, sizeof(slug));
	for (int k = 0; k < pg->n; k++)
		dup += !strcmp(pg->base[k], slug);
	memcpy(pg->base[pg->n], slug, sizeof(slug));
	snprintf(pg->slugs[pg->n], sizeof(pg->slugs[0]), dup ? "%s-%d" : "%s", slug, dup);
	pg->n++;
}

static bool has_anchor(const char *path, const char *anchor)
{
	static struct page pg;
	char *text = read_text(path);

	if (!text)
		return false;
	pg.n = 0;
	each_prose_line(text, collect_heading, &pg);
	free(text);
	for (int k = 0; k < pg.n; k++)
		if (!strcmp(pg.slugs[k], anchor))
			return true;
	return false;
}

struct link_check {
	const char *page; /* the linking file, relative to the repository root */
	bool report;      /* print each broken link as a test failure */
	int links, broken;
};

static bool is_external(const char *t)
{
	return !strncmp(t, "http://", 7) || !strncmp(t, "https://", 8) ||
	       !strncmp(t, "mailto:", 7);
}

static bool is_markdown(const char *path)
{
	size_t n = strlen(path);

	return n > 3 && !strcmp(path + n - 3, ".md");
}

static void check_link(struct link_check *c, int no, const char *target)
{
	const char *hash = strchr(target, '#');
	const char *slash = strrchr(c->page, '/');
	int flen = hash ? (int)(hash - target) : (int)strlen(target);
	int dlen = slash ? (int)(slash - c->page + 1) : 0;
	const char *why = NULL;
	char path[PATH_MAX];
	struct stat st;
	int n;

	c->links++;
	if (!flen) /* #anchor: this page */
		n = snprintf(path, sizeof(path), "%s", c->page);
	else if (target[0] == '/') /* the repository root */
		n = snprintf(path, sizeof(path), ".%.*s", flen, target);
	else
		n = snprintf(path, sizeof(path), "%.*s%.*s", dlen, c->page, flen, target);
	if (n < 0 || (size_t)n >= sizeof(path))
		why = "path too long";
	else if (stat(path, &st))
		why = "no such file";
	else if (hash && (!S_ISREG(st.st_mode) || !is_markdown(path)))
		why = "an anchor into a file that is not markdown";
	else if (hash && !has_anchor(path, hash + 1))
		why = "no heading has that anchor";
	if (!why)
		return;
	c->broken++;
	if (c->report)
		flb_test_fail(__FILE__, __LINE__, "%s:%d: link (%s) -> %s: %s", c->page, no,
			      target, path, why);
}

/* Every [text](target) of one line outside inline code. */
static void check_line(int no, const char *line, size_t len, void *arg)
{
	struct link_check *c = arg;

	for (size_t i = 0; i < len; i++) {
		if (line[i] == '`') {
			size_t run = 0, j;

			while (i + run < len && line[i + run] == '`')
				run++;
			for (j = i + run; j < len; j++) {
				size_t r = 0;

				while (j + r < len && line[j + r] == '`')
					r++;
				if (r == run)
					break;
				j += r ? r - 1 : 0;
			}
			i = j < len ? j + run - 1 : i + run - 1;
			continue;
		}
		if (line[i] == ']' && i + 1 < len && line[i + 1] == '(') {
			char target[PATH_MAX];
			size_t s = i + 2, e = s;

			while (e < len && line[e] != ')' && line[e] != ' ')
				e++;
			if (e == len)
				continue;
			snprintf(target, sizeof(target), "%.*s", (int)(e - s), line + s);
			if (target[0] == '<') /* <target> form */
				memmove(target, target + 1, strlen(target));
			if (target[0] && target[strlen(target) - 1] == '>')
				target[strlen(target) - 1] = 0;
			if (!is_external(target))
				check_link(c, no, target);
			i = e;
		}
	}
}

static struct link_check check_page(const char *page, bool report)
{
	struct link_check c = { .page = page, .report = report };
	char *text = read_text(page);

	if (!text) {
		c.broken = -1;
		if (report)
			flb_test_fail(__FILE__, __LINE__, "%s: %s", page, strerror(errno));
		return c;
	}
	each_prose_line(text, check_line, &c);
	free(text);
	return c;
}

TEST(slug_rules)
{
	static const char *const cases[][2] = {
		{ "Health checks, drain and panic mode", "health-checks-drain-and-panic-mode" },
		{ "The registry's data in etcd", "the-registrys-data-in-etcd" },
		{ "Known limits (this release)", "known-limits-this-release" },
		{ "Leases: what is not renewed disappears", "leases-what-is-not-renewed-disappears" },
		{ "The `fluxlb` CLI", "the-fluxlb-cli" },
		{ "flb_vips and -j", "flb_vips-and--j" },
		{ "See [the docs](docs/x.md) now", "see-the-docs-now" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char slug[SLUG_LEN];

		slugify(cases[i][0], strlen(cases[i][0]), slug, sizeof(slug));
		ASSERT_STREQ(slug, cases[i][1], cases[i][0]);
	}
}

/* The checker itself: on a scratch page it must find exactly the broken
 * links, and nothing in code. */
TEST(checker_finds_broken_links)
{
	char dir[] = "/tmp/flb_docs.XXXXXX", page[64], other[64];
	FILE *f;
	struct link_check c;

	if (!ASSERT_TRUE(mkdtemp(dir) != NULL, "mkdtemp"))
		return;
	snprintf(page, sizeof(page), "%s/a.md", dir);
	snprintf(other, sizeof(other), "%s/b.md", dir);
	f = fopen(other, "w");
	if (!ASSERT_TRUE(f != NULL, other))
		goto out;
	fputs("# B page\n\n## Same\n\n## Same\n", f);
	fclose(f);
	f = fopen(page, "w");
	if (!ASSERT_TRUE(f != NULL, page))
		goto out;
	fputs("# A\n\n"
	      "[ok](b.md) [ok](b.md#b-page) [ok](b.md#same-1) [ok](#a) [ok](<b.md>)\n"
	      "[web](https://example.com/x.md) [mail](mailto:x@example.com)\n"
	      "`[code](missing.md)` and ``[code `x`](missing.md)``\n"
	      "```\n[fenced](missing.md)\n```\n"
	      "[bad file](missing.md) [bad anchor](b.md#nope) [bad dup](b.md#same-2)\n"
	      "[bad self](#nope \"title\")\n",
	      f);
	fclose(f);
	c = check_page(page, false);
	ASSERT_EQ(c.links, 9, "internal links seen");
	ASSERT_EQ(c.broken, 4, "broken links found");
out:
	unlink(page);
	unlink(other);
	rmdir(dir);
}

TEST(readme_links_resolve)
{
	struct link_check c = check_page("README.md", true);

	ASSERT_GE(c.links, 10, "README.md links to the manual");
}

TEST(docs_links_resolve)
{
	glob_t g;

	if (!ASSERT_OK(glob("docs/*.md", 0, NULL, &g), "glob docs/*.md"))
		return;
	ASSERT_GE(g.gl_pathc, 8, "pages in docs/");
	for (size_t i = 0; i < g.gl_pathc; i++)
		check_page(g.gl_pathv[i], true);
	globfree(&g);
}

TEST(readme_at_most_250_lines)
{
	char *text = read_text("README.md");
	int lines = 0;

	if (!ASSERT_TRUE(text != NULL, "open README.md"))
		return;
	for (const char *p = text; *p; p++)
		lines += *p == '\n';
	ASSERT_LE(lines, README_MAX_LINES, "README.md lines");
	free(text);
}

/* Each folder must appear as `name/` in the source map, except the ones
 * listed in expanded, whose subfolders are checked instead. */
static void check_folders(const char *map, const char *parent, const char *const *expanded)
{
	DIR *d = opendir(parent[0] ? parent : ".");
	struct dirent *e;

	if (!ASSERT_TRUE(d != NULL, parent))
		return;
	while ((e = readdir(d))) {
		char path[PATH_MAX], word[PATH_MAX + 4];
		struct stat st;

		if (e->d_name[0] == '.' || !strcmp(e->d_name, "build"))
			continue;
		snprintf(path, sizeof(path), "%s%s", parent, e->d_name);
		if (stat(path, &st) || !S_ISDIR(st.st_mode))
			continue;
		for (const char *const *x = expanded; x && *x; x++)
			if (!strcmp(*x, path))
				goto next;
		snprintf(word, sizeof(word), "`%s/`", path);
		if (!strstr(map, word))
			flb_test_fail(__FILE__, __LINE__, "README.md source map lacks %s", word);
next:;
	}
	closedir(d);
}

TEST(readme_source_map_covers_the_tree)
{
	static const char *const expanded[] = { "user", "deploy", NULL };
	char *text = read_text("README.md"), *map, *end;

	if (!ASSERT_TRUE(text != NULL, "open README.md"))
		return;
	map = strstr(text, "\n## Source map\n");
	if (!ASSERT_TRUE(map != NULL, "README.md has a \"## Source map\" section"))
		goto out;
	end = strstr(map + 1, "\n## ");
	if (end)
		*end = 0;
	check_folders(map, "", expanded);
	check_folders(map, "user/", NULL);
	check_folders(map, "deploy/", NULL);
out:
	free(text);
}
