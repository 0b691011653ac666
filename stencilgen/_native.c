/* stencilgen._native: compiled kernels for the few steps whose numpy form costs most at 100,000
 * contacts and more. Each one gives exactly what its numpy twin in the package gives; the package
 * uses the numpy form when this module is not built.
 *
 * Arrays come in and go out through the buffer protocol (numpy arrays, bytes), so the module needs
 * no numpy headers. Built without floating-point contraction (-ffp-contract=off): a distance here is
 * sqrt(dx * dx + dy * dy) rounded as numpy rounds it, bit for bit.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ---- a grid of cells over points, the points sorted by cell ---------------------------------- */

typedef struct {
    double lo_x, lo_y, s;
    int64_t ncx, ncy;
    int64_t *col;  /* (ncx + 1) first sorted point of each column of cells */
    int32_t *cy;   /* (n) cell row of each sorted point, ascending within a column */
    int32_t *idx;  /* (n) point of each sorted place */
    double *x, *y; /* (n) coordinates of each sorted point */
} Grid;

static void radix_sort(uint64_t *key, int32_t *idx, int64_t n, uint64_t max_key, uint64_t *tk, int32_t *ti)
{
    /* LSD radix sort of (key, idx) by key, 11 bits a pass, only the passes max_key needs; stable */
    int bits = 0;
    while (bits < 64 && (max_key >> bits)) bits += 11;
    uint64_t *ka = key, *kb = tk;
    int32_t *ia = idx, *ib = ti;
    for (int shift = 0; shift < bits; shift += 11) {
        int64_t count[2049];
        memset(count, 0, sizeof(count));
        for (int64_t i = 0; i < n; i++) count[((ka[i] >> shift) & 2047) + 1]++;
        for (int b = 0; b < 2048; b++) count[b + 1] += count[b];
        for (int64_t i = 0; i < n; i++) {
            int64_t at = count[(ka[i] >> shift) & 2047]++;
            kb[at] = ka[i];
            ib[at] = ia[i];
        }
        uint64_t *t = ka; ka = kb; kb = t;
        int32_t *u = ia; ia = ib; ib = u;
    }
    if (ka != key) {
        memcpy(key, ka, (size_t)n * sizeof(uint64_t));
        memcpy(idx, ia, (size_t)n * sizeof(int32_t));
    }
}

/* The cell of coordinate v, cells of size s from lo (the one formula for every use). */
static inline int64_t clamp_cell(int64_t c, int64_t cells) { return c < 0 ? 0 : (c >= cells ? cells - 1 : c); }

static inline int64_t cell_of(double v, double lo, double s, int64_t cells)
{
    return clamp_cell((int64_t)((v - lo) / s), cells);
}

static void grid_free(Grid *g)
{
    free(g->col); free(g->cy); free(g->idx); free(g->x); free(g->y);
    g->col = NULL; g->cy = NULL; g->idx = NULL; g->x = NULL; g->y = NULL;
}

/* Cells of size s (at least span / (2n + 1024) along x, so that the columns stay few) over n points. */
static int grid_build(Grid *g, const double *px, const double *py, int64_t n, double s)
{
    double lo_x = px[0], lo_y = py[0], hi_x = px[0], hi_y = py[0];
    for (int64_t i = 1; i < n; i++) {
        if (px[i] < lo_x) lo_x = px[i];
        if (px[i] > hi_x) hi_x = px[i];
        if (py[i] < lo_y) lo_y = py[i];
        if (py[i] > hi_y) hi_y = py[i];
    }
    s = fmax(s, fmax(hi_x - lo_x, hi_y - lo_y) / (double)(2 * n + 1024));
    g->lo_x = lo_x; g->lo_y = lo_y; g->s = s;
    g->ncx = (int64_t)floor((hi_x - lo_x) / s) + 1;
    g->ncy = (int64_t)floor((hi_y - lo_y) / s) + 1;
    uint64_t *key = malloc((size_t)n * sizeof(uint64_t));
    uint64_t *tk = malloc((size_t)n * sizeof(uint64_t));
    int32_t *ti = malloc((size_t)n * sizeof(int32_t));
    g->col = calloc((size_t)g->ncx + 1, sizeof(int64_t));
    g->cy = malloc((size_t)n * sizeof(int32_t));
    g->idx = malloc((size_t)n * sizeof(int32_t));
    g->x = malloc((size_t)n * sizeof(double));
    g->y = malloc((size_t)n * sizeof(double));
    if (!key || !tk || !ti || !g->col || !g->cy || !g->idx || !g->x || !g->y) {
        free(key); free(tk); free(ti);
        grid_free(g);
        return -1;
    }
    uint64_t K = (uint64_t)g->ncy + 1;
    for (int64_t i = 0; i < n; i++) {
        uint64_t cx = (uint64_t)cell_of(px[i], lo_x, s, g->ncx), cy = (uint64_t)cell_of(py[i], lo_y, s, g->ncy);
        key[i] = cx * K + cy;
        g->idx[i] = (int32_t)i;
    }
    radix_sort(key, g->idx, n, (uint64_t)g->ncx * K, tk, ti);
    for (int64_t t = 0; t < n; t++) {
        int32_t i = g->idx[t];
        uint64_t cx = key[t] / K;
        g->cy[t] = (int32_t)(key[t] - cx * K);
        g->col[cx + 1]++;
        g->x[t] = px[i];
        g->y[t] = py[i];
    }
    for (int64_t c = 0; c < g->ncx; c++) g->col[c + 1] += g->col[c];
    free(key); free(tk); free(ti);
    return 0;
}

/* ---- the k nearest of a query -------------------------------------------------------------- */

/* A query's k nearest, of the points no farther than `reach` times the nearest (+ 1e-9, as
 * near_pairs keeps a pair): a point beyond that is in no pair with the query, and leaving it out
 * changes no point within it (all are nearer), nor the nearest. (One found before a nearer one
 * may stay: lists hold all points that can make a pair, and maybe a few more.) */
typedef struct {
    int64_t k, cnt;
    double *d;    /* (k) distances, ascending; ties by point index */
    int32_t *i;   /* (k) */
    double cut2;  /* a squared distance past which nothing can enter (a little above the bound: the
                   * bound itself is checked exactly): inf until a point is held */
    double reach;
    double far;   /* reach times the nearest held (+ 1e-9; at least the nearest), inf before */
} Best;

static inline __attribute__((always_inline)) void best_offer(Best *b, double d, int32_t i)
{
    if (d > b->far) return;
    if (b->cnt == b->k) {
        double ld = b->d[b->k - 1];
        if (d > ld || (d == ld && i > b->i[b->k - 1])) return;
    } else {
        b->cnt++;
    }
    int64_t at = b->cnt - 1;
    while (at > 0 && (b->d[at - 1] > d || (b->d[at - 1] == d && b->i[at - 1] > i))) {
        b->d[at] = b->d[at - 1];
        b->i[at] = b->i[at - 1];
        at--;
    }
    b->d[at] = d;
    b->i[at] = i;
    if (at == 0) {  /* a new nearest: a nearer bound */
        b->far = b->reach * d + 1e-9;
        if (b->far < d) b->far = d;
    } else if (b->cnt < b->k) {
        return;  /* (neither bound moved) */
    }
    double c = b->cnt == b->k && b->d[b->k - 1] < b->far ? b->d[b->k - 1] : b->far;
    c *= 1 + 1e-15;
    b->cut2 = c * c;
}

/* Offer q the points of column c in cell rows y0..y1. `from`: a place in the column at or before
 * the first of them, or -1 (then it is searched for). */
static void scan_cells(const Grid *g, int32_t q, double qx, double qy, int64_t c, int64_t y0, int64_t y1,
                       int64_t from, Best *b)
{
    if (c < 0 || c >= g->ncx) return;
    if (y0 < 0) y0 = 0;
    if (y1 >= g->ncy) y1 = g->ncy - 1;
    if (y0 > y1) return;
    int64_t lo = g->col[c], hi = g->col[c + 1];
    if (from >= 0) {
        lo = from;
        while (lo < hi && g->cy[lo] < y0) lo++;
    } else {
        while (lo < hi) {  /* first point of the column at cell row y0 or above */
            int64_t mid = (lo + hi) >> 1;
            if (g->cy[mid] < y0) lo = mid + 1; else hi = mid;
        }
    }
    for (int64_t t = lo, end = g->col[c + 1]; t < end && g->cy[t] <= y1; t++) {
        int32_t p = g->idx[t];
        if (p == q) continue;
        double dx = qx - g->x[t], dy = qy - g->y[t];
        double d2 = dx * dx + dy * dy;
        if (d2 <= b->cut2) best_offer(b, sqrt(d2), p);
    }
}

/* Search rings of cells around q until its k nearest are known, or all points within reach times
 * its nearest distance are; 1 if so within max_ring rings, else 0. `hint` (or NULL): for columns
 * cx - 1 .. cx + 1, a place at or before their first point in row cy - 1 or above (other columns
 * and rows are found by a binary search). */
static int search(const Grid *g, int32_t q, double qx, double qy, double reach, int64_t max_ring,
                  const int64_t *hint, Best *b)
{
    b->cnt = 0;
    b->cut2 = INFINITY;
    b->reach = reach;
    b->far = INFINITY;
    double s = g->s;
    int64_t cx = cell_of(qx, g->lo_x, s, g->ncx), cy = cell_of(qy, g->lo_y, s, g->ncy);
    for (int64_t r = 1;; r++) {
        /* hints serve the columns next to q's, from the row below q's on */
#define FROM(c, y0) (hint && (c) - cx <= 1 && cx - (c) <= 1 && (y0) >= cy - 1 ? hint[(c) - cx + 1] : -1)
        if (r == 1) {  /* q's cell and the ring around it, a column at a time (q's own first) */
            scan_cells(g, q, qx, qy, cx, cy - 1, cy + 1, FROM(cx, cy - 1), b);
            scan_cells(g, q, qx, qy, cx - 1, cy - 1, cy + 1, FROM(cx - 1, cy - 1), b);
            scan_cells(g, q, qx, qy, cx + 1, cy - 1, cy + 1, FROM(cx + 1, cy - 1), b);
        } else {
            /* the cells above and below first, then the columns either side (their corners are
             * the farthest): the nearest found early keep more of the later ones out (the result
             * does not depend on the order) */
            for (int64_t c = cx - r + 1; c <= cx + r - 1; c++) {
                scan_cells(g, q, qx, qy, c, cy - r, cy - r, FROM(c, cy - r), b);
                scan_cells(g, q, qx, qy, c, cy + r, cy + r, FROM(c, cy + r), b);
            }
            scan_cells(g, q, qx, qy, cx - r, cy - r, cy + r, FROM(cx - r, cy - r), b);
            scan_cells(g, q, qx, qy, cx + r, cy - r, cy + r, FROM(cx + r, cy - r), b);
        }
#undef FROM
        int all = cx - r <= 0 && cy - r <= 0 && cx + r >= g->ncx - 1 && cy + r >= g->ncy - 1;
        if (all) return 1;
        /* every point nearer than `covered` to q lies in the cells searched */
        double covered = qx - (g->lo_x + (double)(cx - r) * s);
        double e = g->lo_x + (double)(cx + r + 1) * s - qx;
        if (e < covered) covered = e;
        e = qy - (g->lo_y + (double)(cy - r) * s);
        if (e < covered) covered = e;
        e = g->lo_y + (double)(cy + r + 1) * s - qy;
        if (e < covered) covered = e;
        covered -= 1e-12 * (fabs(qx) + fabs(qy) + s);  /* a cell's edge as computed may be off by an ulp */
        if (b->cnt == b->k && b->d[b->k - 1] < covered) return 1;
        /* (the nearest seen is the nearest when it lies within the cells searched: reach < 1) */
        if (b->cnt > 0 && reach * b->d[0] + 1e-9 < covered && b->d[0] < covered) return 1;
        if (r >= max_ring) return 0;
    }
}

/* ---- near_pairs ------------------------------------------------------------------------------ */

#define SAMPLE 1024
#define MAX_RING 3

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* One pass of queries over a grid: todo[from .. to) (or the grid's own order, places from .. to,
 * when all points are queried); those whose reach the grid's rings do not cover go to next. */
typedef struct {
    const Grid *g;
    const double *px, *py;
    int64_t k;
    double reach, span;
    int all;
    const int32_t *todo;
    int64_t from, to;
    int32_t *bi;
    int64_t *cnt;
    double *nn;
    int32_t *next;
    int64_t left;
    int failed;
} Pass;

#define PARALLEL_FROM 4096  /* items (queries, boxes, polygons) worth a second thread */

/* Where the second of two halves of n items begins: n when they are too few for a second thread
 * (the second half is then empty, and run_halves is asked for one thread). */
static inline int64_t halfway(int64_t n) { return n >= PARALLEL_FROM ? n / 2 : n; }

static void *run_pass(void *arg)
{
    Pass *P = arg;
    const Grid *gp = P->g;
    int64_t k = P->k, hint[3], col_of = -1;
    double *dk = malloc((size_t)k * sizeof(double));  /* a query's distances (its points go to bi) */
    if (!dk) { P->failed = 1; return NULL; }
    /* in the grid's order, each query near the last, and the places where the columns next to its
     * own start (from the row below) moving only forward (no search) */
    for (int64_t t = P->from; t < P->to; t++) {
        int32_t q = P->all ? gp->idx[t] : P->todo[t];
        if (P->all) {
            int64_t cx = cell_of(gp->x[t], gp->lo_x, gp->s, gp->ncx), low = (int64_t)gp->cy[t] - 1;
            for (int64_t d = 0; d <= 2; d++) {
                int64_t c = cx - 1 + d;
                if (c < 0 || c >= gp->ncx) continue;
                int64_t u = cx == col_of ? hint[d] : gp->col[c], end = gp->col[c + 1];
                while (u < end && gp->cy[u] < low) u++;
                hint[d] = u;
            }
            col_of = cx;
        }
        Best b = {k, 0, dk, P->bi + (int64_t)q * k, INFINITY, P->reach, INFINITY};
        if (search(gp, q, P->py[q], P->px[q], P->reach, MAX_RING, P->all ? hint : NULL, &b) || gp->s > 2 * P->span) {
            P->cnt[q] = b.cnt;
            P->nn[q] = b.cnt ? b.d[0] : INFINITY;
        } else {
            P->next[P->left++] = q;
        }
    }
    free(dk);
    return NULL;
}

/* Run fn on two halves of a job: the second on a thread of its own when `threads` (and one can be
 * made), else after the first. */
static void run_halves(void *(*fn)(void *), void *first, void *second, int threads)
{
    pthread_t other;
    int threaded = threads && pthread_create(&other, NULL, fn, second) == 0;
    fn(first);
    if (threaded) pthread_join(other, NULL);
    else fn(second);
}

/* The pairs of near_pairs from each point's k nearest (bi; cnt of them), for points from .. to:
 * a pair {a < b} is found in a's list, or only in b's (an "extra", kept for a's bucket). Pass 0
 * counts each point's own pairs (and gathers the extras); pass 1 writes each point's pairs, its own
 * and its extras, in order of b, at its place. */
typedef struct {
    const int32_t *bi;
    const double *px, *py, *nn;
    const int64_t *cnt;
    int64_t k, from, to, total;
    double reach;
    int pass;
    int64_t *own;        /* (n) pass 0: each point's valid pairs with a later point */
    uint64_t *valid;     /* (n) or NULL (k > 64): pass 0 marks bit t where pair t of the point is valid */
    uint64_t *extra;     /* pass 0: (a << 32 | b) of the extras; pass 1: all extras, sorted */
    int64_t n_extra, cap_extra;
    int64_t *at;         /* pass 1: (n + 1) where each point's pairs begin */
    int64_t *pairs;      /* pass 1: the output, the a column then the b */
    int failed;
} PairPass;

static inline int pair_valid(const PairPass *P, int64_t q, int64_t t)
{
    int32_t p = P->bi[q * P->k + t];
    double lim = P->reach * (P->nn[q] < P->nn[p] ? P->nn[q] : P->nn[p]) + 1e-9;
    double dx = P->py[q] - P->py[p], dy = P->px[q] - P->px[p];  /* the distance as the search had it */
    return sqrt(dx * dx + dy * dy) <= lim;
}

static void *pair_pass(void *arg)
{
    PairPass *P = arg;
    int64_t k = P->k;
    if (P->pass == 0) {
        for (int64_t q = P->from; q < P->to; q++) {
            int64_t own = 0;
            uint64_t bits = 0;
            for (int64_t t = 0; t < P->cnt[q]; t++) {
                if (!pair_valid(P, q, t)) continue;
                if (P->valid) bits |= (uint64_t)1 << t;
                int32_t p = P->bi[q * k + t];
                if (p > q) { own++; continue; }
                int listed = 0;  /* in p's list too: p's own pair (equally valid: one distance) */
                for (int64_t u = 0; u < P->cnt[p] && !listed; u++) listed = P->bi[(int64_t)p * k + u] == q;
                if (listed) continue;
                if (P->n_extra == P->cap_extra) {
                    int64_t cap = P->cap_extra ? 2 * P->cap_extra : 1024;
                    uint64_t *e = realloc(P->extra, (size_t)cap * sizeof(uint64_t));
                    if (!e) { P->failed = 1; return NULL; }
                    P->extra = e;
                    P->cap_extra = cap;
                }
                P->extra[P->n_extra++] = ((uint64_t)p << 32) | (uint64_t)q;
            }
            P->own[q] = own;
            if (P->valid) P->valid[q] = bits;
        }
        return NULL;
    }
    /* pass 1: the extras are sorted; this half's begin at the first with a >= from */
    int64_t lo = 0, hi = P->n_extra;
    while (lo < hi) {
        int64_t mid = (lo + hi) >> 1;
        if ((int64_t)(P->extra[mid] >> 32) < P->from) lo = mid + 1; else hi = mid;
    }
    int64_t e = lo;
    int32_t *mine = malloc((size_t)k * sizeof(int32_t));
    if (!mine) { P->failed = 1; return NULL; }
    for (int64_t q = P->from; q < P->to; q++) {
        int64_t m = 0;  /* the point's own later partners, sorted */
        for (int64_t t = 0; t < P->cnt[q]; t++) {
            int32_t p = P->bi[q * k + t];
            if (p <= q || !(P->valid ? P->valid[q] >> t & 1 : pair_valid(P, q, t))) continue;
            int64_t w = m++;
            while (w > 0 && mine[w - 1] > p) { mine[w] = mine[w - 1]; w--; }
            mine[w] = p;
        }
        int64_t w = P->at[q], i = 0;
        while (i < m || (e < P->n_extra && (int64_t)(P->extra[e] >> 32) == q)) {
            int64_t b;
            if (i < m && !(e < P->n_extra && (int64_t)(P->extra[e] >> 32) == q && (int64_t)(P->extra[e] & 0xffffffffu) < mine[i]))
                b = mine[i++];
            else
                b = (int64_t)(P->extra[e++] & 0xffffffffu);
            P->pairs[w] = q;
            P->pairs[P->total + w++] = b;
        }
    }
    free(mine);
    return NULL;
}

/* near_pairs(px, py, k, reach, start, nn) -> bytes of int64 pairs (i < j), in (i, j) order: every
 * pair's i, then every pair's j (a column at a time).
 * px, py: float64 coordinates (n); nn: writable float64 (n), set to each point's nearest distance. */
static PyObject *near_pairs(PyObject *self, PyObject *args)
{
    Py_buffer bx, by, bnn;
    Py_ssize_t k_in;
    double reach, start;
    if (!PyArg_ParseTuple(args, "y*y*nddw*", &bx, &by, &k_in, &reach, &start, &bnn)) return NULL;
    PyObject *result = NULL;
    int64_t n = bx.len / (Py_ssize_t)sizeof(double);
    const double *px = bx.buf, *py = by.buf;
    double *nn = bnn.buf;
    int64_t k = k_in;
    double *need = NULL, *dk = NULL;
    int32_t *bi = NULL, *todo = NULL, *next = NULL;
    int64_t *cnt = NULL, *first = NULL, *pairs = NULL;
    uint64_t *valid = NULL;
    Grid g = {0};
    if (by.len != bx.len || bnn.len != bx.len || n >= INT32_MAX || k < 1 || n < 2) {
        PyErr_SetString(PyExc_ValueError, "near_pairs: mismatched arrays, or k < 1, or fewer than 2 points");
        goto done;
    }
    if (k > n - 1) k = n - 1;
    dk = malloc((size_t)k * sizeof(double));
    bi = malloc((size_t)(n * k) * sizeof(int32_t));
    cnt = malloc((size_t)n * sizeof(int64_t));
    todo = malloc((size_t)n * sizeof(int32_t));
    next = malloc((size_t)n * sizeof(int32_t));
    need = malloc(SAMPLE * sizeof(double));
    if (!dk || !bi || !cnt || !todo || !next || !need) { PyErr_NoMemory(); goto done; }
    int failed = 0;
    Py_BEGIN_ALLOW_THREADS
    double lo_x = px[0], hi_x = px[0], lo_y = py[0], hi_y = py[0];
    for (int64_t i = 1; i < n; i++) {
        if (px[i] < lo_x) lo_x = px[i];  /* (finite points only: the caller sees to that) */
        if (px[i] > hi_x) hi_x = px[i];
        if (py[i] < lo_y) lo_y = py[i];
        if (py[i] > hi_y) hi_y = py[i];
    }
    double span = fmax(hi_x - lo_x, hi_y - lo_y);
    double s = fmax(fmax(start, span * 1e-9), 1e-9);
    /* the cell size: from an even sample, the distance each needs (its k-th neighbour's, or reach
     * times its nearest), nine in ten of them covered */
    if (n > 4 * SAMPLE) {
        int64_t m = SAMPLE, got = 0;
        for (int64_t t = 0; t < m; t++) todo[t] = (int32_t)((double)t * (double)(n - 1) / (double)(m - 1));
        while (m) {
            if (grid_build(&g, py, px, n, s)) break;
            int64_t left = 0;
            for (int64_t t = 0; t < m; t++) {
                Best b = {k, 0, dk, bi + (int64_t)todo[t] * k, INFINITY, reach, INFINITY};
                if (search(&g, todo[t], py[todo[t]], px[todo[t]], reach, 8, NULL, &b) || g.s > 2 * span) {
                    double w = b.cnt ? reach * b.d[0] : INFINITY;
                    if (b.cnt == k && b.d[k - 1] < w) w = b.d[k - 1];
                    if (isfinite(w)) need[got++] = w;
                } else {
                    next[left++] = todo[t];
                }
            }
            memcpy(todo, next, (size_t)left * sizeof(int32_t));
            m = left;
            if (m) {
                grid_free(&g);
                s = 4 * g.s;
            }
        }
        if (got) {
            qsort(need, (size_t)got, sizeof(double), cmp_double);
            double q9 = need[(int64_t)(0.9 * (double)(got - 1))] * (1 + 1e-9);
            s = fmax(fmax(q9, span * 1e-9), 1e-9);
        }
        /* the sample's grid serves the main pass too when its cells are as large or a little larger */
        if (g.idx && s <= g.s && 1.25 * s >= g.s) s = g.s;
        else grid_free(&g);
    }
    int64_t m = n;
    for (int64_t i = 0; i < n; i++) todo[i] = (int32_t)i;
    while (m) {
        if (!g.idx && grid_build(&g, py, px, n, s)) { failed = 1; break; }
        /* the queries, in two halves on two threads when there are many; each query's results
         * have places of their own, so the halves never meet */
        Pass halves[2];
        int64_t cut = halfway(m);
        for (int h = 0; h < 2; h++) {
            Pass *P = &halves[h];
            P->g = &g; P->px = px; P->py = py; P->k = k; P->reach = reach; P->span = span;
            P->all = m == n; P->todo = todo; P->from = h ? cut : 0; P->to = h ? m : cut;
            P->bi = bi; P->cnt = cnt; P->nn = nn; P->next = next + P->from; P->left = 0; P->failed = 0;
        }
        run_halves(run_pass, &halves[0], &halves[1], cut < m);
        if (halves[0].failed || halves[1].failed) { grid_free(&g); failed = 1; break; }
        /* the second half's leftovers after the first's */
        int64_t left = halves[0].left;
        memmove(next + left, next + cut, (size_t)halves[1].left * sizeof(int32_t));
        left += halves[1].left;
        grid_free(&g);
        memcpy(todo, next, (size_t)left * sizeof(int32_t));
        m = left;
        s = 4 * g.s;
    }
    Py_END_ALLOW_THREADS
    if (failed) { PyErr_NoMemory(); goto done; }
    /* the pairs, mutual within reach, each once, in order: each point's own later partners, and
     * the extras (a in b's list only); on two threads, each half of the points */
    {
        int64_t half = halfway(n);
        PairPass H[2];
        for (int h = 0; h < 2; h++) {
            PairPass *P = &H[h];
            memset(P, 0, sizeof(*P));
            P->bi = bi; P->px = px; P->py = py; P->nn = nn; P->cnt = cnt; P->k = k; P->reach = reach;
            P->from = h ? half : 0;
            P->to = h ? n : half;
        }
        first = malloc(((size_t)n + 1) * sizeof(int64_t));  /* each point's own pairs, then where its pairs begin */
        valid = k <= 64 ? malloc((size_t)(n ? n : 1) * sizeof(uint64_t)) : NULL;  /* (else measured again) */
        if (!first || (k <= 64 && !valid)) { PyErr_NoMemory(); goto pairs_done; }
        H[0].own = H[1].own = first;
        H[0].valid = H[1].valid = valid;
        int failed2 = 0;
        int64_t total = 0;
        Py_BEGIN_ALLOW_THREADS
        run_halves(pair_pass, &H[0], &H[1], half < n);
        failed2 = H[0].failed || H[1].failed;
        if (!failed2) {
            /* the extras of both halves together, sorted by (a, b); counted into their buckets */
            int64_t ne = H[0].n_extra + H[1].n_extra;
            uint64_t *ex = malloc((size_t)(ne ? ne : 1) * sizeof(uint64_t));
            uint64_t *tk = malloc((size_t)(ne ? ne : 1) * sizeof(uint64_t));
            int32_t *ix = malloc((size_t)(ne ? ne : 1) * sizeof(int32_t));
            int32_t *ti = malloc((size_t)(ne ? ne : 1) * sizeof(int32_t));
            if (!ex || !tk || !ix || !ti) failed2 = 1;
            else {
                if (H[0].n_extra) memcpy(ex, H[0].extra, (size_t)H[0].n_extra * sizeof(uint64_t));
                if (H[1].n_extra) memcpy(ex + H[0].n_extra, H[1].extra, (size_t)H[1].n_extra * sizeof(uint64_t));
                for (int64_t i = 0; i < ne; i++) ix[i] = 0;
                radix_sort(ex, ix, ne, ((uint64_t)n << 32) | (uint64_t)n, tk, ti);
                for (int64_t i = 0; i < ne; i++) first[ex[i] >> 32]++;
                for (int64_t q = 0; q < n; q++) {  /* counts -> places */
                    int64_t c = first[q];
                    first[q] = total;
                    total += c;
                }
                first[n] = total;
                for (int h = 0; h < 2; h++) {
                    free(H[h].extra);
                    H[h].extra = ex;
                    H[h].n_extra = ne;
                    H[h].at = first;
                    H[h].total = total;
                    H[h].pass = 1;
                }
                ex = NULL;
            }
            free(ex); free(tk); free(ix); free(ti);
        }
        Py_END_ALLOW_THREADS
        if (failed2) { PyErr_NoMemory(); goto pairs_done; }
        result = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)(total * 2 * (int64_t)sizeof(int64_t)));
        if (!result) goto pairs_done;
        pairs = (int64_t *)PyBytes_AS_STRING(result);
        H[0].pairs = H[1].pairs = pairs;
        Py_BEGIN_ALLOW_THREADS
        run_halves(pair_pass, &H[0], &H[1], half < n);
        Py_END_ALLOW_THREADS
        if (H[0].failed || H[1].failed) { Py_CLEAR(result); PyErr_NoMemory(); }
    pairs_done:
        if (H[0].extra == H[1].extra) H[1].extra = NULL;  /* (shared after pass 0) */
        free(H[0].extra); free(H[1].extra);
    }
done:
    free(dk); free(bi); free(cnt); free(todo); free(next); free(need); free(first); free(valid);
    PyBuffer_Release(&bx); PyBuffer_Release(&by); PyBuffer_Release(&bnn);
    return result;
}

/* ---- boxes_touch ----------------------------------------------------------------------------- */

static double kth_smallest(double *a, int64_t n, int64_t k)
{
    /* quickselect (a is reordered) */
    int64_t lo = 0, hi = n - 1;
    while (lo < hi) {
        double pivot = a[(lo + hi) >> 1];
        int64_t i = lo, j = hi;
        while (i <= j) {
            while (a[i] < pivot) i++;
            while (a[j] > pivot) j--;
            if (i <= j) { double t = a[i]; a[i] = a[j]; a[j] = t; i++; j--; }
        }
        if (k <= j) hi = j; else if (k >= i) lo = i; else return a[k];
    }
    return a[k];
}

/* The less and the greater of two numbers that are not NaN (np.minimum, np.maximum; fmin and fmax
 * are calls to libm). */
static inline double lesser(double a, double b) { return a < b ? a : b; }  /* (ties: b, as numpy) */
static inline double greater(double a, double b) { return a > b ? a : b; }

/* The length of (x, y) as geometry._norm measures it. */
static inline double norm2(double x, double y) { return sqrt(x * x + y * y); }

static inline int meet(const double *b, int64_t i, int64_t j)
{
    const double *p = b + 4 * i, *q = b + 4 * j;
    return p[0] <= q[2] && q[0] <= p[2] && p[1] <= q[3] && q[1] <= p[3];
}

/* Whether an edge's normal of one of two convex quadrilaterals (quad: 8 coordinates each) parts their
 * projections by more than a picometre (geometry._quads_apart): then they cannot touch. */
static int quads_apart(const double *quad, int64_t i, int64_t j)
{
    const double *a = quad + 8 * i, *b = quad + 8 * j;
    for (int s = 0; s < 2; s++) {
        const double *p = s ? b : a;
        for (int k = 0; k < 4; k++) {
            int k1 = (k + 1) & 3;
            double nx = p[2 * k + 1] - p[2 * k1 + 1], ny = p[2 * k1] - p[2 * k];
            double slack = 1e-6 * norm2(nx, ny);
            double lo_a = INFINITY, hi_a = -INFINITY, lo_b = INFINITY, hi_b = -INFINITY;
            for (int v = 0; v < 4; v++) {
                double pa = a[2 * v] * nx + a[2 * v + 1] * ny, pb = b[2 * v] * nx + b[2 * v + 1] * ny;
                lo_a = lesser(lo_a, pa); hi_a = greater(hi_a, pa);
                lo_b = lesser(lo_b, pb); hi_b = greater(hi_b, pb);
            }
            if (hi_a + slack < lo_b || hi_b + slack < lo_a) return 1;
        }
    }
    return 0;
}

/* Two shapes that may touch: their boxes meet, and (convex quadrilaterals given) no edge parts them. */
static inline int may_touch(const double *box, const double *quad, int64_t i, int64_t j)
{
    return meet(box, i, j) && !(quad && quads_apart(quad, i, j));
}

/* One part of boxes_touch: the boxes at places from .. to of the grid's order, each against the
 * boxes after it in the cells around its own (each pair once): in its own column those after it up
 * to the row above, and the next column's rows below to above (the column before holds only boxes
 * before it). The first place of the next column at the row below only moves forward (no search). */
typedef struct {
    const Grid *g;
    const double *box, *quad;  /* quad: NULL, or the convex quadrilaterals whose boxes these are */
    const int64_t *live;
    int *found;  /* shared: read and set atomically */
    int64_t from, to;
} TouchPass;

/* Whether box i may touch one of the boxes at places u .. of a column (up to `end`) in cell rows up
 * to y1; found is set if so. */
static inline int touch_run(TouchPass *T, int64_t i, int64_t u, int64_t end, int64_t y1)
{
    const Grid *g = T->g;
    for (; u < end && g->cy[u] <= y1; u++)
        if (may_touch(T->box, T->quad, i, T->live[g->idx[u]])) {
            __atomic_store_n(T->found, 1, __ATOMIC_RELAXED);
            return 1;
        }
    return 0;
}

static void *touch_pass(void *arg)
{
    TouchPass *T = arg;
    const Grid *g = T->g;
    int64_t at = 0, col_of = -1;
    for (int64_t t = T->from; t < T->to && !__atomic_load_n(T->found, __ATOMIC_RELAXED); t++) {
        int64_t cx = cell_of(g->x[t], g->lo_x, g->s, g->ncx), cy = g->cy[t];
        if (cx != col_of) {
            col_of = cx;
            at = cx + 1 < g->ncx ? g->col[cx + 1] : 0;
        }
        int64_t i = T->live[g->idx[t]];
        if (touch_run(T, i, t + 1, g->col[cx + 1], cy + 1)) return NULL;
        if (cx + 1 >= g->ncx) continue;
        int64_t end = g->col[cx + 2];
        while (at < end && g->cy[at] < cy - 1) at++;
        if (touch_run(T, i, at, end, cy + 1)) return NULL;
    }
    return NULL;
}

/* boxes_touch(box[, quads[, threads]]) -> bool: whether two of the boxes (n x 4 float64: xmin, ymin,
 * xmax, ymax) overlap or touch; with quads (n x 4 x 2 float64, convex quadrilaterals, box i the box of
 * quad i; empty: none), whether two quadrilaterals may: their boxes meet and no edge parts them
 * (quads_apart). Boxes with NaN or infinite corners take part in nothing. threads (default true):
 * two threads when many boxes. None when a finite corner lies 1e150 or farther from the origin
 * (spans there could overflow; the caller asks numpy). */
static PyObject *boxes_touch(PyObject *self, PyObject *args)
{
    Py_buffer bb, bq = {0};
    int threads = 1;
    if (!PyArg_ParseTuple(args, "y*|y*p", &bb, &bq, &threads)) return NULL;
    const double *box = bb.buf, *quad = bq.len ? bq.buf : NULL;
    int64_t n = bb.len / (Py_ssize_t)(4 * sizeof(double));
    if (quad && bq.len != (Py_ssize_t)(8 * sizeof(double)) * n) {
        PyBuffer_Release(&bb);
        PyBuffer_Release(&bq);
        PyErr_SetString(PyExc_ValueError, "boxes_touch: quads must hold 8 coordinates for each box");
        return NULL;
    }
    int64_t *live = malloc((size_t)(n ? n : 1) * sizeof(int64_t));
    double *ext = malloc((size_t)(n ? n : 1) * sizeof(double));
    double *tmp = malloc((size_t)(n ? n : 1) * sizeof(double));
    double *lx = malloc((size_t)(n ? n : 1) * sizeof(double));
    double *ly = malloc((size_t)(n ? n : 1) * sizeof(double));
    int64_t *big = malloc((size_t)(n ? n : 1) * sizeof(int64_t));
    int found = 0, failed = 0, huge = 0;
    if (!live || !ext || !tmp || !lx || !ly || !big) { failed = 1; goto out; }
    Py_BEGIN_ALLOW_THREADS
    int64_t m = 0, nb = 0;
    for (int64_t i = 0; i < n; i++) {
        const double *p = box + 4 * i;
        for (int j = 0; j < 4; j++) huge |= isfinite(p[j]) && !(fabs(p[j]) < 1e150);
        if (isfinite(p[0]) && isfinite(p[1]) && isfinite(p[2]) && isfinite(p[3])) live[m++] = i;
    }
    if (m >= 2 && !huge) {
        for (int64_t t = 0; t < m; t++) {
            const double *p = box + 4 * live[t];
            ext[t] = fmax(p[2] - p[0], p[3] - p[1]);
        }
        /* a typical extent: the median of an even sample (it only parts the few large boxes, which
         * are looked at apart: any value gives the same answer) */
        int64_t ns0 = 0, step_n = m < 1025 ? m : 1025;
        for (int64_t t = 0; t < step_n; t++) {  /* (boxes of no extent say nothing of the size) */
            double e = ext[(int64_t)((double)t * (double)(m - 1) / (double)(step_n > 1 ? step_n - 1 : 1))];
            if (e > 0) tmp[ns0++] = e;
        }
        double typical = ns0 ? kth_smallest(tmp, ns0, ns0 / 2) : 0.0;
        /* the small boxes: a grid of cells as large as the largest of them, keyed by lower-left corner;
         * two that meet lie in cells next to each other. A few large boxes: against all. */
        int64_t ns = 0;
        double s = 0;
        for (int64_t t = 0; t < m; t++) {
            if (ext[t] > 8 * typical) { big[nb++] = live[t]; continue; }
            if (ext[t] > s) s = ext[t];
            live[ns] = live[t];
            lx[ns] = box[4 * live[t]];
            ly[ns] = box[4 * live[t] + 1];
            ns++;
        }
        s = s * (1 + 1e-9) + 1e-9;
        Grid g = {0};
        if (ns >= 2) {
            if (grid_build(&g, lx, ly, ns, s)) failed = 1;
            else {
                /* the boxes in two halves of the grid's order, on two threads when many; either
                 * stops when one of them has found a pair */
                TouchPass T[2];
                int64_t half = halfway(ns);
                for (int h = 0; h < 2; h++) {
                    T[h].g = &g; T[h].box = box; T[h].quad = quad; T[h].live = live; T[h].found = &found;
                    T[h].from = h ? half : 0; T[h].to = h ? ns : half;
                }
                run_halves(touch_pass, &T[0], &T[1], threads && half < ns);
                grid_free(&g);
            }
        }
        if (nb && !found && !failed) {  /* large boxes against every live box */
            for (int64_t a = 0; a < nb && !found; a++)
                for (int64_t i = 0; i < n && !found; i++) {
                    const double *p = box + 4 * i;
                    if (i != big[a] && isfinite(p[0]) && isfinite(p[1]) && isfinite(p[2]) && isfinite(p[3]) &&
                        may_touch(box, quad, big[a], i))
                        found = 1;
                }
        }
    }
    Py_END_ALLOW_THREADS
out:
    free(live); free(ext); free(tmp); free(lx); free(ly); free(big);
    PyBuffer_Release(&bb);
    if (bq.obj) PyBuffer_Release(&bq);
    if (failed) return PyErr_NoMemory();
    if (huge) Py_RETURN_NONE;
    return PyBool_FromLong(found);
}

/* ---- lines ----------------------------------------------------------------------------------- */

/* Indices (distinct) in ascending order: a natural merge sort (rising runs as they come, falling
 * ones turned round). */
static void sort_indices(int64_t *v, int64_t *tmp, int64_t n)
{
    if (n < 2) return;
    int64_t stack_runs[65], *run = n < 64 ? stack_runs : malloc((size_t)(n + 1) * sizeof(int64_t));
    if (!run) {
        for (int64_t i = 1; i < n; i++) {
            int64_t x = v[i], j = i;
            while (j > 0 && v[j - 1] > x) { v[j] = v[j - 1]; j--; }
            v[j] = x;
        }
        return;
    }
    int64_t nr = 0;
    for (int64_t i = 0; i < n;) {
        run[nr++] = i;
        int64_t j = i + 1;
        if (j < n && v[j] < v[i]) {
            while (j < n && v[j] < v[j - 1]) j++;
            for (int64_t lo = i, hi = j - 1; lo < hi; lo++, hi--) { int64_t t = v[lo]; v[lo] = v[hi]; v[hi] = t; }
        } else {
            while (j < n && v[j] > v[j - 1]) j++;
        }
        i = j;
    }
    run[nr] = n;
    int64_t *src = v, *dst = tmp;
    while (nr > 1) {
        int64_t w = 0;
        for (int64_t r = 0; r < nr; r += 2) {
            int64_t a = run[r], m = r + 1 < nr ? run[r + 1] : n, b = r + 2 <= nr ? run[r + 2] : n;
            if (r + 1 >= nr) m = b = n;
            int64_t i = a, j = m, o = a;
            while (i < m && j < b) dst[o++] = src[j] < src[i] ? src[j++] : src[i++];
            while (i < m) dst[o++] = src[i++];
            while (j < b) dst[o++] = src[j++];
            run[w++] = a;
        }
        run[w] = n;
        nr = w;
        int64_t *u = src; src = dst; dst = u;
    }
    if (src != v) memcpy(v, src, (size_t)n * sizeof(int64_t));
    if (run != stack_runs) free(run);
}

/* Stable order of `key` (n): a natural merge sort, quick on keys that come nearly in order (runs
 * that fall strictly are turned round: they hold no ties). Ties keep their order in `order` as
 * given. The keys travel with the indices, so that merging reads memory in order. tmp: n scratch. */
static void merge_order(const double *key, int64_t *order, int64_t *tmp, int64_t n)
{
    if (n < 2) return;
    int64_t *run = malloc((size_t)(n + 1) * sizeof(int64_t));
    double *ka = malloc((size_t)n * sizeof(double)), *kb = malloc((size_t)n * sizeof(double));
    if (!run || !ka || !kb) {  /* no memory for the runs: insertion sort (correct, slow) */
        free(run); free(ka); free(kb);
        for (int64_t i = 1; i < n; i++) {
            int64_t v = order[i], j = i;
            while (j > 0 && key[order[j - 1]] > key[v]) { order[j] = order[j - 1]; j--; }
            order[j] = v;
        }
        return;
    }
    for (int64_t i = 0; i < n; i++) ka[i] = key[order[i]];
    int64_t nr = 0;
    for (int64_t i = 0; i < n;) {
        run[nr++] = i;
        int64_t j = i + 1;
        if (j < n && ka[j] < ka[i]) {  /* falling strictly: turned round */
            while (j < n && ka[j] < ka[j - 1]) j++;
            for (int64_t lo = i, hi = j - 1; lo < hi; lo++, hi--) {
                double t = ka[lo]; ka[lo] = ka[hi]; ka[hi] = t;
                int64_t u = order[lo]; order[lo] = order[hi]; order[hi] = u;
            }
        } else {
            while (j < n && !(ka[j] < ka[j - 1])) j++;
        }
        i = j;
    }
    run[nr] = n;
    int64_t *src = order, *dst = tmp;
    double *ks = ka, *kd = kb;
    while (nr > 1) {
        int64_t w = 0;
        for (int64_t r = 0; r < nr; r += 2) {
            int64_t a = run[r], m = run[r + 1], b = r + 2 <= nr ? run[r + 2] : n;
            if (r + 1 >= nr) { m = b = run[nr]; }
            int64_t i = a, j = m, o = a;
            while (i < m && j < b) {
                if (ks[j] < ks[i]) { kd[o] = ks[j]; dst[o++] = src[j++]; }
                else { kd[o] = ks[i]; dst[o++] = src[i++]; }
            }
            while (i < m) { kd[o] = ks[i]; dst[o++] = src[i++]; }
            while (j < b) { kd[o] = ks[j]; dst[o++] = src[j++]; }
            run[w++] = a;
        }
        run[w] = n;
        nr = w;
        int64_t *t = src; src = dst; dst = t;
        double *u = ks; ks = kd; kd = u;
    }
    if (src != order) memcpy(order, src, (size_t)n * sizeof(int64_t));
    free(run); free(ka); free(kb);
}

/* The median of v (c values, reordered), as numpy has it: the mean of the two middle ones. */
static double median_of(double *v, int64_t c)
{
    int64_t k2 = c / 2;
    if (c <= 64) {
        for (int64_t i = 1; i < c; i++) {
            double x = v[i];
            int64_t j = i;
            while (j > 0 && v[j - 1] > x) { v[j] = v[j - 1]; j--; }
            v[j] = x;
        }
        return (v[(c - 1) / 2] + v[k2]) / 2;
    }
    double hi = kth_smallest(v, c, k2), lo = hi;
    if (c % 2 == 0) {
        lo = v[0];
        for (int64_t i = 1; i < k2; i++) if (v[i] > lo) lo = v[i];
    }
    return (lo + hi) / 2;
}

typedef struct {
    double tol, spacing_tol;
    int64_t most;
    double *buf;    /* scratch, as long as the longest line */
    double *q;      /* scratch */
    char *ok;       /* scratch */
    int64_t *first, *count, *gaps;  /* the runs found */
    double *pitch;
    int64_t found;
    int failed;  /* memory ran short: runs are missing */
} Segs;

static void regular(Segs *S, const double *s, int64_t count, double p)
{
    for (int64_t j = 0; j < count; j++) {
        double q = nearbyint(s[j] / p);
        S->q[j] = q;
        S->ok[j] = q >= 1 && q <= (double)S->most &&
                   fabs(s[j] - q * p) <= fmax(2 * S->tol, S->spacing_tol * p * q);
    }
}

/* rows._segments for one piece: spacings s[first .. first + count) of a line, `depth` levels deep */
static void segments(Segs *S, const double *s, int64_t first, int64_t count, int depth)
{
    if (count < 2) return;
    const double *sp = s + first;
    memcpy(S->buf, sp, (size_t)count * sizeof(double));
    double p = median_of(S->buf, count);
    regular(S, sp, count, p);
    int any = 0, all = 1;
    for (int64_t j = 0; j < count; j++) { any |= S->ok[j]; all &= S->ok[j]; }
    if (!any) {  /* half the spacings at one pitch, half at another: the smallest */
        p = sp[0];
        for (int64_t j = 1; j < count; j++) if (sp[j] < p) p = sp[j];
        regular(S, sp, count, p);
        all = 1;
        for (int64_t j = 0; j < count; j++) all &= S->ok[j];
    }
    if (all) {
        double gaps = 0;
        for (int64_t j = 0; j < count; j++) {
            S->buf[j] = sp[j] / S->q[j];
            gaps += S->q[j] - 1;
        }
        S->first[S->found] = first;
        S->count[S->found] = count;
        S->pitch[S->found] = median_of(S->buf, count);
        S->gaps[S->found] = (int64_t)gaps;
        S->found++;
        return;
    }
    if (depth == 4) return;
    /* cut where ok changes; each run again (ok is overwritten below: keep the cuts first) */
    int64_t nruns = 0;
    int64_t *cut = malloc((size_t)(count + 1) * sizeof(int64_t));
    if (!cut) { S->failed = 1; return; }
    cut[nruns++] = 0;
    for (int64_t j = 1; j < count; j++)
        if (S->ok[j] != S->ok[j - 1]) cut[nruns++] = j;
    cut[nruns] = count;
    for (int64_t r = 0; r < nruns; r++) segments(S, s, first + cut[r], cut[r + 1] - cut[r], depth + 1);
    free(cut);
}

/* The members parted into lines as sorting rho and cutting where neighbours differ by more than
 * tol would part them, without the sort: cells of width tol, counted; within a cell no cut (its
 * spread is checked to be tol at most), between neighbouring cells the cut of the sorted order (the
 * least of the next less the most of this). order: the members, a line (group) after another;
 * cell: m scratch (each member's cell, worked out once); *bounds: where each group begins, and m
 * at the end (malloc'd). 0 when the cells would be too many, a spread too wide, or memory short:
 * the caller sorts. */
static int group_cells(const double *rho, int64_t m, double tol, int64_t *order, int64_t *cell, int64_t **bounds_out,
                       int64_t *ng_out)
{
    if (!(tol > 0) || m < 1) return 0;
    double lo = rho[0], hi = rho[0];
    for (int64_t i = 1; i < m; i++) {
        if (rho[i] < lo) lo = rho[i];
        if (rho[i] > hi) hi = rho[i];
    }
    double cd = (hi - lo) / tol + 2;
    if (!(cd <= 4.0 * (double)m + 1024)) return 0;
    int64_t C = (int64_t)cd, ok = 1;
    int64_t *cnt = calloc((size_t)C + 1, sizeof(int64_t)), *bounds = malloc(((size_t)m + 1) * sizeof(int64_t));
    double *cmin = malloc((size_t)C * sizeof(double)), *cmax = malloc((size_t)C * sizeof(double));
    if (!cnt || !bounds || !cmin || !cmax) ok = 0;
    for (int64_t i = 0; i < m && ok; i++) {
        int64_t c = cell[i] = cell_of(rho[i], lo, tol, C);
        if (cnt[c + 1]++ == 0) cmin[c] = cmax[c] = rho[i];
        else if (rho[i] < cmin[c]) cmin[c] = rho[i];
        else if (rho[i] > cmax[c]) cmax[c] = rho[i];
    }
    for (int64_t c = 0; c < C && ok; c++) ok = cnt[c + 1] == 0 || !(cmax[c] - cmin[c] > tol);
    if (!ok) { free(cnt); free(bounds); free(cmin); free(cmax); return 0; }
    for (int64_t c = 0; c < C; c++) cnt[c + 1] += cnt[c];
    for (int64_t i = 0; i < m; i++) order[cnt[cell[i]]++] = i;  /* cnt[c]: cell c's end */
    int64_t ng = 0, begin = 0;
    double last = 0;
    for (int64_t c = 0; c < C; c++) {
        int64_t end = cnt[c];
        if (end == begin) continue;  /* (an empty cell) */
        if (ng == 0 || cmin[c] - last > tol) bounds[ng++] = begin;
        last = cmax[c];
        begin = end;
    }
    bounds[ng] = m;
    free(cnt); free(cmin); free(cmax);
    *bounds_out = bounds;
    *ng_out = ng;
    return 1;
}

/* One direction's lines (rows._lines): the members on lines (ids, kept of them) and the regular
 * runs found (first spacing into ids, number of spacings, pitch, gaps; `found` of them, in order of
 * first). All malloc'd; lines_clear frees them. */
typedef struct {
    int64_t kept, found;
    int64_t *ids, *first, *count, *gaps;
    double *pitch;
} LinesOut;

static void lines_clear(LinesOut *o)
{
    free(o->ids); free(o->first); free(o->count); free(o->gaps); free(o->pitch);
    memset(o, 0, sizeof(*o));
}

/* The lines of members mem[0 .. m) (points among X, Y) along u = (ux, uy): lines parted along the
 * normal by more than tol, those of 3 or more each along u, cut into regular runs. -1 when memory
 * ran short (out cleared). Needs no interpreter. */
static int lines_of(const double *X, const double *Y, const int64_t *mem, int64_t m, double ux, double uy, double tol,
                    double spacing_tol, int64_t most, LinesOut *out)
{
    memset(out, 0, sizeof(*out));
    double *rho = NULL, *t = NULL, *s = NULL, *fk = NULL;
    int64_t *order = NULL, *tmp = NULL, *ids = NULL, *line_first = NULL, *ord = NULL;
    Segs S = {tol, spacing_tol, most, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, 0};
    int failed = 1;
    size_t M = (size_t)(m ? m : 1);
    rho = malloc(M * 8); t = malloc(M * 8); s = malloc(M * 8);
    order = malloc(M * 8); tmp = malloc(M * 8); ids = malloc(M * 8); line_first = malloc((M / 3 + 2) * 8);
    if (!rho || !t || !s || !order || !tmp || !ids || !line_first) goto done;
    int64_t kept = 0, nlines = 0, longest = 0;
    double nx = -uy, ny = ux;
    for (int64_t i = 0; i < m; i++) {
        double x = X[mem[i]], y = Y[mem[i]];
        rho[i] = x * nx + y * ny;
        t[i] = x * ux + y * uy;
        order[i] = i;
    }
    /* lines: runs of the members in order of rho, parted by more than tol (by cells when they are
     * few enough, else by a sort); those of 3 or more, each sorted along u */
    int64_t *bounds = NULL, ngroups = 0, gk = 0;
    if (!group_cells(rho, m, tol, order, tmp, &bounds, &ngroups)) merge_order(rho, order, tmp, m);
    int64_t a = 0;
    while (a < m) {
        int64_t b = a + 1;
        if (bounds) b = bounds[++gk];
        else
            while (b < m && !(rho[order[b]] - rho[order[b - 1]] > tol)) b++;
        if (b - a >= 3) {
            int64_t *g = order + a, c = b - a;
            /* by member order first (the indices themselves), then stably by t: ties along u keep
             * the member order */
            sort_indices(g, tmp, c);
            merge_order(t, g, tmp, c);
            line_first[nlines++] = kept;
            for (int64_t i = 0; i < c; i++) ids[kept++] = g[i];
            if (c > longest) longest = c;
        }
        a = b;
    }
    free(bounds);
    line_first[nlines] = kept;
    for (int64_t j = 0; j + 1 < kept; j++) {
        double d = t[ids[j + 1]] - t[ids[j]];
        s[j] = d > 1e-9 ? d : 1e-9;
    }
    /* scratch as long as the longest line; a run holds two spacings or more (of the kept - nlines) */
    size_t L1 = (size_t)(longest ? longest : 1), R1 = (size_t)(kept / 2 + 1);
    S.buf = malloc(L1 * 8); S.q = malloc(L1 * 8); S.ok = malloc(L1);
    S.first = malloc(R1 * 8); S.count = malloc(R1 * 8); S.gaps = malloc(R1 * 8); S.pitch = malloc(R1 * 8);
    if (!S.buf || !S.q || !S.ok || !S.first || !S.count || !S.gaps || !S.pitch) goto done;
    for (int64_t k = 0; k < nlines; k++) segments(&S, s, line_first[k], line_first[k + 1] - line_first[k] - 1, 0);
    if (S.failed) goto done;
    for (int64_t j = 0; j < kept; j++) ids[j] = mem[ids[j]];
    /* the runs in order of first (each line's runs come out by depth, not by place) */
    int64_t f = S.found;
    ord = malloc((size_t)(f ? f : 1) * 8);
    fk = malloc((size_t)(f ? f : 1) * 8);
    out->first = malloc((size_t)(f ? f : 1) * 8); out->count = malloc((size_t)(f ? f : 1) * 8);
    out->gaps = malloc((size_t)(f ? f : 1) * 8); out->pitch = malloc((size_t)(f ? f : 1) * 8);
    if (!ord || !fk || !out->first || !out->count || !out->gaps || !out->pitch) goto done;
    for (int64_t i = 0; i < f; i++) { ord[i] = i; fk[i] = (double)S.first[i]; }
    merge_order(fk, ord, tmp, f);  /* (tmp holds m >= f) */
    for (int64_t i = 0; i < f; i++) {
        out->first[i] = S.first[ord[i]]; out->count[i] = S.count[ord[i]];
        out->pitch[i] = S.pitch[ord[i]]; out->gaps[i] = S.gaps[ord[i]];
    }
    out->ids = ids;
    ids = NULL;
    out->kept = kept;
    out->found = f;
    failed = 0;
done:
    free(rho); free(t); free(s); free(order); free(tmp); free(ids); free(line_first); free(ord); free(fk);
    free(S.buf); free(S.q); free(S.ok); free(S.first); free(S.count); free(S.gaps); free(S.pitch);
    if (failed) lines_clear(out);
    return failed ? -1 : 0;
}

/* Directions' lines as bytes: ids (each direction's after the last's), first (into those ids),
 * count, pitch, gaps, and where each direction's runs begin (D + 1). */
static PyObject *lines_pack(LinesOut *outs, int64_t D)
{
    int64_t kept = 0, found = 0;
    for (int64_t d = 0; d < D; d++) { kept += outs[d].kept; found += outs[d].found; }
    PyObject *o[6] = {
        PyBytes_FromStringAndSize(NULL, (Py_ssize_t)(kept * 8)), PyBytes_FromStringAndSize(NULL, (Py_ssize_t)(found * 8)),
        PyBytes_FromStringAndSize(NULL, (Py_ssize_t)(found * 8)), PyBytes_FromStringAndSize(NULL, (Py_ssize_t)(found * 8)),
        PyBytes_FromStringAndSize(NULL, (Py_ssize_t)(found * 8)), PyBytes_FromStringAndSize(NULL, (Py_ssize_t)((D + 1) * 8)),
    };
    PyObject *result = NULL;
    if (o[0] && o[1] && o[2] && o[3] && o[4] && o[5]) {
        int64_t *ids = (int64_t *)PyBytes_AS_STRING(o[0]), *F = (int64_t *)PyBytes_AS_STRING(o[1]);
        int64_t *C = (int64_t *)PyBytes_AS_STRING(o[2]), *G = (int64_t *)PyBytes_AS_STRING(o[4]);
        int64_t *start = (int64_t *)PyBytes_AS_STRING(o[5]);
        double *P = (double *)PyBytes_AS_STRING(o[3]);
        int64_t k = 0, r = 0;
        for (int64_t d = 0; d < D; d++) {
            const LinesOut *L = &outs[d];
            start[d] = r;
            if (L->kept) memcpy(ids + k, L->ids, (size_t)L->kept * 8);
            for (int64_t i = 0; i < L->found; i++, r++) {
                F[r] = L->first[i] + k; C[r] = L->count[i]; P[r] = L->pitch[i]; G[r] = L->gaps[i];
            }
            k += L->kept;
        }
        start[D] = r;
        result = PyTuple_Pack(6, o[0], o[1], o[2], o[3], o[4], o[5]);
    }
    for (int j = 0; j < 6; j++) Py_XDECREF(o[j]);
    return result;
}

/* lines_all: D directions' members (members[offsets[d] .. offsets[d + 1]), each int64 point among
 * x, y), worked by two threads when `threads`, largest first, each taking the next left. */
typedef struct {
    const double *X, *Y, *ux, *uy;
    const int64_t *mem, *off, *order;
    double tol, spacing_tol;
    int64_t most, D;
    int64_t *next;  /* shared: the next place in order to take */
    LinesOut *outs;
    int failed;
} LinesJob;

static void *lines_pass(void *arg)
{
    LinesJob *J = arg;
    for (;;) {
        int64_t at = __atomic_fetch_add(J->next, 1, __ATOMIC_RELAXED);
        if (at >= J->D) return NULL;
        int64_t d = J->order[at];
        if (lines_of(J->X, J->Y, J->mem + J->off[d], J->off[d + 1] - J->off[d], J->ux[d], J->uy[d], J->tol,
                     J->spacing_tol, J->most, &J->outs[d]))
            J->failed = 1;
    }
}

/* A direction's place in the work: larger first, then in order. */
typedef struct { int64_t size, d; } Sized;
static int cmp_larger(const void *a, const void *b)
{
    const Sized *p = a, *q = b;
    return p->size != q->size ? (p->size < q->size) - (p->size > q->size) : (p->d > q->d) - (p->d < q->d);
}

/* lines_all(x, y, members, offsets, ux, uy, tol, spacing_tol, most, threads) -> (ids, first, count,
 * pitch, gaps, start), bytes each: rows._lines of D directions at once (direction d: members
 * [offsets[d] .. offsets[d + 1]), u = (ux[d], uy[d])); direction d's runs are start[d] ..
 * start[d + 1], first counts into ids. On two threads when `threads`. */
static PyObject *lines_all(PyObject *self, PyObject *args)
{
    Py_buffer bx, by, bm, bo, bux, buy;
    double tol, spacing_tol;
    Py_ssize_t most;
    int threads;
    if (!PyArg_ParseTuple(args, "y*y*y*y*y*y*ddnp", &bx, &by, &bm, &bo, &bux, &buy, &tol, &spacing_tol, &most, &threads))
        return NULL;
    PyObject *result = NULL;
    const int64_t *mem = bm.buf, *off = bo.buf;
    int64_t m = bm.len / 8, npts = bx.len / 8, D = bo.len / 8 - 1;
    LinesOut *outs = NULL;
    int64_t *order = NULL;
    int bad = by.len != bx.len || D < 0 || bux.len != (Py_ssize_t)(8 * (D > 0 ? D : 0)) || buy.len != bux.len ||
              (D >= 0 && (off[0] != 0 || off[D] != m));
    for (int64_t d = 0; d < D && !bad; d++) bad = off[d + 1] < off[d];
    for (int64_t i = 0; i < m && !bad; i++) bad = mem[i] < 0 || mem[i] >= npts;
    if (bad) {
        PyErr_SetString(PyExc_ValueError, "lines_all: members out of range, or offsets not rising from 0 to their number");
        goto done;
    }
    outs = calloc((size_t)(D ? D : 1), sizeof(LinesOut));
    order = malloc((size_t)(D ? D : 1) * sizeof(int64_t));
    if (!outs || !order) { PyErr_NoMemory(); goto done; }
    Sized *by_size = malloc((size_t)(D ? D : 1) * sizeof(Sized));
    if (!by_size) { PyErr_NoMemory(); goto done; }
    for (int64_t d = 0; d < D; d++) by_size[d] = (Sized){off[d + 1] - off[d], d};
    qsort(by_size, (size_t)D, sizeof(Sized), cmp_larger);
    for (int64_t d = 0; d < D; d++) order[d] = by_size[d].d;
    free(by_size);
    int64_t next = 0;
    LinesJob J[2];
    for (int h = 0; h < 2; h++)
        J[h] = (LinesJob){bx.buf, by.buf, bux.buf, buy.buf, mem, off, order, tol, spacing_tol, most, D, &next, outs, 0};
    Py_BEGIN_ALLOW_THREADS
    run_halves(lines_pass, &J[0], &J[1], threads && D > 1);
    Py_END_ALLOW_THREADS
    if (J[0].failed || J[1].failed) { PyErr_NoMemory(); goto done; }
    result = lines_pack(outs, D);
done:
    if (outs) for (int64_t d = 0; d < D; d++) lines_clear(&outs[d]);
    free(outs); free(order);
    PyBuffer_Release(&bx); PyBuffer_Release(&by); PyBuffer_Release(&bm); PyBuffer_Release(&bo);
    PyBuffer_Release(&bux); PyBuffer_Release(&buy);
    return result;
}

/* ---- choose ---------------------------------------------------------------------------------- */

/* choose(members, offsets, order, n) -> bytes, one per line: 1 where the line is taken. Lines are
 * visited in `order`; a line is taken when at least max(3, (size + 1) / 2) of its contacts are in
 * fewer than two lines taken before it (rows._choose). members: the lines' contact ids (< n) one
 * line after another, line k at offsets[k] .. offsets[k + 1]. */
static PyObject *choose(PyObject *self, PyObject *args)
{
    Py_buffer bm, bo, bord;
    Py_ssize_t n;
    if (!PyArg_ParseTuple(args, "y*y*y*n", &bm, &bo, &bord, &n)) return NULL;
    const int64_t *mem = bm.buf, *off = bo.buf, *ord = bord.buf;
    int64_t L = bo.len / 8 - 1, nm = bm.len / 8, no = bord.len / 8;
    PyObject *result = NULL;
    unsigned char *slots = NULL;
    int bad = L < 0 || no != L || n < 0;
    for (int64_t k = 0; !bad && k < L; k++) bad = off[k] < 0 || off[k] > off[k + 1] || off[k + 1] > nm;
    for (int64_t k = 0; !bad && k < L; k++) bad = ord[k] < 0 || ord[k] >= L;
    for (int64_t i = 0; !bad && i < nm; i++) bad = mem[i] < 0 || mem[i] >= n;
    if (bad) { PyErr_SetString(PyExc_ValueError, "choose: offsets, order or members out of range"); goto done; }
    slots = calloc((size_t)(n ? n : 1), 1);
    result = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)(L ? L : 0));
    if (!slots || !result) { Py_CLEAR(result); PyErr_NoMemory(); goto done; }
    unsigned char *taken = (unsigned char *)PyBytes_AS_STRING(result);
    memset(taken, 0, (size_t)L);
    for (int64_t r = 0; r < L; r++) {
        int64_t k = ord[r], a = off[k], b = off[k + 1], size = b - a, free_ = 0;
        for (int64_t i = a; i < b; i++) free_ += slots[mem[i]] < 2;
        int64_t need = (size + 1) / 2 > 3 ? (size + 1) / 2 : 3;
        if (free_ >= need) {
            for (int64_t i = a; i < b; i++) slots[mem[i]] += slots[mem[i]] < 255;  /* (only "< 2" counts) */
            taken[k] = 1;
        }
    }
done:
    free(slots);
    PyBuffer_Release(&bm); PyBuffer_Release(&bo); PyBuffer_Release(&bord);
    return result;
}

/* ---- gds_runs ------------------------------------------------------------------------------- */

static inline unsigned be16(const unsigned char *d, int64_t o) { return ((unsigned)d[o] << 8) | d[o + 1]; }

/* gds_runs(data) -> (start, end, last, paths): the plain polygon elements of a GDSII stream (BOUNDARY
 * or BOX, LAYER, DATATYPE or BOXTYPE, XY, ENDEL, back to back, as gdsii._runs matches them), found
 * by walking its records: start and end words of each (end: after ENDEL), and the last element of
 * the run of elements it belongs to (int64 bytes each); paths: whether a PATH or NODE record was met.
 * The walk stops at ENDLIB or at a record whose length is wrong. */
static PyObject *gds_runs(PyObject *self, PyObject *args)
{
    Py_buffer bd;
    if (!PyArg_ParseTuple(args, "y*", &bd)) return NULL;
    const unsigned char *d = bd.buf;
    int64_t n = bd.len, cap = 1024, m = 0;
    int64_t *start = malloc((size_t)cap * 8), *end = malloc((size_t)cap * 8);
    int paths = 0, failed = !start || !end;
    int64_t o = 0;
    while (!failed && o + 4 <= n) {
        int64_t length = be16(d, o);
        unsigned rtype = d[o + 2];
        if (length < 4 || length % 2 || o + length > n || rtype == 4) break;  /* 4: ENDLIB */
        if (rtype == 9 || rtype == 21) paths = 1;
        if (length == 4 && (be16(d, o + 2) == 0x0800 || be16(d, o + 2) == 0x2D00) && o + 24 <= n) {
            int64_t i = o / 2;  /* in words, as gdsii._runs counts */
#define W(j) be16(d, 2 * (i + (j)))
            unsigned xylen = W(8);
            if (W(2) == 6 && W(3) == 0x0D02 && W(5) == 6 && (W(6) == 0x0E02 || W(6) == 0x2E02) && W(9) == 0x1003 &&
                xylen >= 12 && xylen % 8 == 4) {
                int64_t e = i + 8 + xylen / 2;
                if (2 * (e + 2) <= n && W(e - i) == 4 && W(e - i + 1) == 0x1100) {
                    if (m == cap) {
                        cap *= 2;
                        int64_t *s2 = realloc(start, (size_t)cap * 8), *e2 = realloc(end, (size_t)cap * 8);
                        if (s2) start = s2;
                        if (e2) end = e2;
                        if (!s2 || !e2) { failed = 1; break; }
                    }
                    start[m] = i;
                    end[m] = e + 2;
                    m++;
                    o = 2 * (e + 2);
                    continue;
                }
            }
#undef W
        }
        o += length;
    }
    PyObject *result = NULL;
    if (failed) {
        PyErr_NoMemory();
    } else {
        PyObject *os = PyBytes_FromStringAndSize((const char *)start, (Py_ssize_t)(m * 8));
        PyObject *oe = PyBytes_FromStringAndSize((const char *)end, (Py_ssize_t)(m * 8));
        PyObject *ol = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)(m * 8));
        if (os && oe && ol) {
            int64_t *last = (int64_t *)PyBytes_AS_STRING(ol);
            for (int64_t j = m - 1; j >= 0; j--) last[j] = (j + 1 < m && end[j] == start[j + 1]) ? last[j + 1] : j;
            result = Py_BuildValue("(OOOO)", os, oe, ol, paths ? Py_True : Py_False);
        }
        Py_XDECREF(os); Py_XDECREF(oe); Py_XDECREF(ol);
    }
    free(start); free(end);
    PyBuffer_Release(&bd);
    return result;
}

/* ---- gds_points ------------------------------------------------------------------------------ */

/* gds_points(data, offset, stride, count, v, scale) -> bytearray of float64 (writable) or None: `count` polygons of
 * v points (big-endian int32 x, y pairs) starting at byte `offset`, one every `stride` bytes, the
 * closing point dropped, times `scale` (gdsii.Stream._evenly_spaced); None when one of them does not
 * end on its first point or the data runs short. */
#define I32(d, o) \
    ((int32_t)(((uint32_t)(d)[o] << 24) | ((uint32_t)(d)[(o) + 1] << 16) | ((uint32_t)(d)[(o) + 2] << 8) | (d)[(o) + 3]))

/* Part of gds_points: polygons from .. to converted into out, each checked closed (open: 1). */
typedef struct {
    const unsigned char *d;
    Py_ssize_t offset, stride, v, from, to;
    double scale;
    double *out;
    int open;
} PointsPass;

static void *points_pass(void *arg)
{
    PointsPass *P = arg;
    double *out = P->out + P->from * 2 * (P->v - 1);
    for (Py_ssize_t c = P->from; c < P->to; c++) {
        Py_ssize_t o = P->offset + c * P->stride, last = o + 8 * (P->v - 1);
        if (I32(P->d, o) != I32(P->d, last) || I32(P->d, o + 4) != I32(P->d, last + 4)) {
            P->open = 1;
            return NULL;
        }
        for (Py_ssize_t p = 0; p < 2 * (P->v - 1); p++) *out++ = (double)I32(P->d, o + 4 * p) * P->scale;
    }
    return NULL;
}

static PyObject *gds_points(PyObject *self, PyObject *args)
{
    Py_buffer bd;
    Py_ssize_t offset, stride, count, v;
    double scale;
    if (!PyArg_ParseTuple(args, "y*nnnnd", &bd, &offset, &stride, &count, &v, &scale)) return NULL;
    PyObject *result = NULL;
    /* every polygon inside the data (each bound checked apart: no product can overflow) */
    Py_ssize_t len = bd.len;
    int inside = v >= 2 && count >= 0 && offset >= 0 && offset <= len && v <= len / 8 && stride >= 8 * v;
    if (inside && count > 0) inside = 8 * v <= len - offset && count - 1 <= (len - offset - 8 * v) / stride;
    if (!inside) {
        result = Py_None;
        Py_INCREF(result);
        goto done;
    }
    result = PyByteArray_FromStringAndSize(NULL, (Py_ssize_t)(count * (v - 1) * 2 * 8));
    if (!result) goto done;
    /* converted and checked closed in one pass, in two halves on two threads when many */
    PointsPass H[2];
    Py_ssize_t half = (Py_ssize_t)halfway(count);
    for (int h = 0; h < 2; h++) {
        H[h].d = bd.buf; H[h].offset = offset; H[h].stride = stride; H[h].v = v; H[h].scale = scale;
        H[h].out = (double *)PyByteArray_AS_STRING(result);
        H[h].from = h ? half : 0; H[h].to = h ? count : half; H[h].open = 0;
    }
    Py_BEGIN_ALLOW_THREADS
    run_halves(points_pass, &H[0], &H[1], half < count);
    Py_END_ALLOW_THREADS
    if (H[0].open || H[1].open) {  /* an open polygon: not a run of plain closed ones */
        Py_DECREF(result);
        result = Py_None;
        Py_INCREF(result);
    }
done:
    PyBuffer_Release(&bd);
    return result;
}
#undef I32

/* ---- bin_pairs ------------------------------------------------------------------------------- */

static inline uint64_t mix64(uint64_t h)
{
    h ^= h >> 33; h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33; h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return h;
}

/* pair_vectors(cx, cy, pa, pb) -> (inverse, vx, vy, weight), bytes: the vectors of point pairs,
 * (cx[pb] - cx[pa], cy[pb] - cy[pa]), told apart by their bits and numbered in order of first
 * appearance (as numeric.first_unique numbers them); inverse (int64, per pair): each pair's vector; vx, vy
 * (float64) and weight (int64, its pairs): each distinct vector. */
static inline int64_t vector_slot(uint64_t kx, uint64_t ky, int64_t size)
{
    return (int64_t)(mix64(kx ^ mix64(ky + 0x9e3779b97f4a7c15ULL)) & (uint64_t)(size - 1));
}

/* The distinct vectors of pairs from .. to, numbered in order of first appearance among them;
 * inv[i]: pair i's number. */
typedef struct {
    const double *cx, *cy;
    const int64_t *pa, *pb;
    int64_t n, from, to;
    int64_t *inv;
    int32_t *table;
    uint64_t *ux, *uy;
    int64_t *w;
    int64_t size, cap, distinct;
    int failed;  /* 1: out of memory, 2: a point out of range */
} Vectors;

/* Where vector (kx, ky) is in V's table, or the empty slot where it would go. */
static inline int64_t vector_find(const Vectors *V, uint64_t kx, uint64_t ky)
{
    int64_t h = vector_slot(kx, ky, V->size);
    for (;;) {
        int32_t u = V->table[h];
        if (u < 0 || (V->ux[u] == kx && V->uy[u] == ky)) return h;
        h = (h + 1) & (V->size - 1);
    }
}

/* Vector (kx, ky), new to V, added at slot h (with `seen` pairs looked at so far): its number. */
static int64_t vector_add(Vectors *V, int64_t h, uint64_t kx, uint64_t ky, int64_t weight, int64_t seen)
{
    if (V->distinct == V->cap) {  /* room for more vectors */
        int64_t cap = 2 * V->cap;
        uint64_t *nx = realloc(V->ux, (size_t)cap * 8), *ny;
        if (nx) V->ux = nx;
        ny = realloc(V->uy, (size_t)cap * 8);
        if (ny) V->uy = ny;
        int64_t *nw = realloc(V->w, (size_t)cap * 8);
        if (nw) V->w = nw;
        if (!nx || !ny || !nw) { V->failed = 1; return -1; }
        V->cap = cap;
    }
    int64_t u = V->distinct++;
    V->table[h] = (int32_t)u;
    V->ux[u] = kx; V->uy[u] = ky; V->w[u] = weight;
    if (2 * V->distinct > V->size) {  /* a larger table, the vectors placed again: twice as large,
                                       * or, when most pairs so far had a vector of their own (turned
                                       * dies, off the grid's axes), at once as large as all could need */
        int64_t grown = 2 * V->size;
        if (2 * V->distinct > seen)
            while (grown < 2 * (V->to - V->from) + 2) grown *= 2;
        int32_t *nt = malloc((size_t)grown * sizeof(int32_t));
        if (!nt) { V->failed = 1; return -1; }
        free(V->table);
        V->table = nt;
        V->size = grown;
        memset(V->table, 0xff, (size_t)V->size * sizeof(int32_t));
        for (int64_t v = 0; v < V->distinct; v++) V->table[vector_find(V, V->ux[v], V->uy[v])] = (int32_t)v;
    }
    return u;
}

static void *vectors_pass(void *arg)
{
    Vectors *V = arg;
    V->size = 1024; V->cap = 256;
    V->table = malloc((size_t)V->size * sizeof(int32_t));
    V->ux = malloc((size_t)V->cap * 8); V->uy = malloc((size_t)V->cap * 8);
    V->w = malloc((size_t)V->cap * 8);
    if (!V->table || !V->ux || !V->uy || !V->w) { V->failed = 1; return NULL; }
    memset(V->table, 0xff, (size_t)V->size * sizeof(int32_t));
    const double *cx = V->cx, *cy = V->cy;
    for (int64_t i = V->from; i < V->to; i++) {
        int64_t a = V->pa[i], b = V->pb[i];
        if (a < 0 || a >= V->n || b < 0 || b >= V->n) { V->failed = 2; return NULL; }
        double x = cx[b] - cx[a], y = cy[b] - cy[a];
        uint64_t kx, ky;
        memcpy(&kx, &x, 8);
        memcpy(&ky, &y, 8);
        int64_t h = vector_find(V, kx, ky);
        int32_t u = V->table[h];
        if (u >= 0) {
            V->w[u]++;
            V->inv[i] = u;
        } else {
            int64_t v = vector_add(V, h, kx, ky, 1, i + 1 - V->from);
            if (v < 0) return NULL;
            V->inv[i] = v;
        }
    }
    return NULL;
}

/* The second half's vectors (B) numbered after the first's (A): each new to A added to it, and B's
 * pairs renumbered; B's vectors come after all of A's in order of first appearance. */
static int vectors_join(Vectors *A, Vectors *B)
{
    int64_t *to = malloc((size_t)(B->distinct ? B->distinct : 1) * sizeof(int64_t));
    if (!to) return -1;
    for (int64_t v = 0; v < B->distinct; v++) {
        int64_t h = vector_find(A, B->ux[v], B->uy[v]);
        int32_t u = A->table[h];
        if (u >= 0) {
            A->w[u] += B->w[v];
            to[v] = u;
        } else if ((to[v] = vector_add(A, h, B->ux[v], B->uy[v], B->w[v], A->to - A->from)) < 0) {
            free(to);
            return -1;
        }
    }
    for (int64_t i = B->from; i < B->to; i++) B->inv[i] = to[B->inv[i]];
    free(to);
    return 0;
}

static PyObject *pair_vectors(PyObject *self, PyObject *args)
{
    Py_buffer bx, by, ba, bb;
    if (!PyArg_ParseTuple(args, "y*y*y*y*", &bx, &by, &ba, &bb)) return NULL;
    PyObject *result = NULL, *out[4] = {NULL};
    int64_t n = bx.len / 8, P = ba.len / 8;
    Vectors H[2];
    memset(H, 0, sizeof(H));
    if (by.len != bx.len || bb.len != ba.len || P >= INT32_MAX) {
        PyErr_SetString(PyExc_ValueError, "pair_vectors: coordinates of one length, pairs of points among them");
        goto done;
    }
    out[0] = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)(P * 8));
    if (!out[0]) goto done;
    /* each half of the pairs on a thread of its own when many, then the second's joined to the first */
    int64_t half = halfway(P);
    for (int h = 0; h < 2; h++) {
        Vectors *V = &H[h];
        V->cx = bx.buf; V->cy = by.buf; V->pa = ba.buf; V->pb = bb.buf; V->n = n;
        V->from = h ? half : 0; V->to = h ? P : half;
        V->inv = (int64_t *)PyBytes_AS_STRING(out[0]);
    }
    int failed = 0;
    Py_BEGIN_ALLOW_THREADS
    run_halves(vectors_pass, &H[0], &H[1], half < P);
    failed = H[0].failed | H[1].failed;
    if (!failed && half < P && vectors_join(&H[0], &H[1])) failed = 1;
    Py_END_ALLOW_THREADS
    if (failed & 2) {
        PyErr_SetString(PyExc_ValueError, "pair_vectors: coordinates of one length, pairs of points among them");
        goto done;
    }
    if (failed) { PyErr_NoMemory(); goto done; }
    int64_t distinct = H[0].distinct;
    out[1] = PyBytes_FromStringAndSize((const char *)H[0].ux, (Py_ssize_t)(distinct * 8));
    out[2] = PyBytes_FromStringAndSize((const char *)H[0].uy, (Py_ssize_t)(distinct * 8));
    out[3] = PyBytes_FromStringAndSize((const char *)H[0].w, (Py_ssize_t)(distinct * 8));
    if (out[1] && out[2] && out[3]) result = PyTuple_Pack(4, out[0], out[1], out[2], out[3]);
done:
    for (int j = 0; j < 4; j++) Py_XDECREF(out[j]);
    for (int h = 0; h < 2; h++) { free(H[h].table); free(H[h].ux); free(H[h].uy); free(H[h].w); }
    PyBuffer_Release(&bx); PyBuffer_Release(&by); PyBuffer_Release(&ba); PyBuffer_Release(&bb);
    return result;
}

/* direction_members(inverse, direction, pa, pb, n, D) -> (ids, start), bytes of int64: for each
 * direction d < D, the points (ascending, each once) of the pairs whose vector it took;
 * direction[u]: the direction that took vector u, or -1; ids[start[d] : start[d + 1]] are d's. */
static PyObject *direction_members(PyObject *self, PyObject *args)
{
    Py_buffer bi, bd, ba, bb;
    Py_ssize_t n, D;
    if (!PyArg_ParseTuple(args, "y*y*y*y*nn", &bi, &bd, &ba, &bb, &n, &D)) return NULL;
    PyObject *result = NULL, *ids_b = NULL, *start_b = NULL;
    int64_t *stamp = NULL, *tmp = NULL;
    int64_t P = bi.len / 8, U = bd.len / 8;
    const int64_t *inv = bi.buf, *dir = bd.buf, *pa = ba.buf, *pb = bb.buf;
    int bad = ba.len != bi.len || bb.len != bi.len || n < 0 || D < 0 || (D > 0 && n > PY_SSIZE_T_MAX / 2 / D);
    for (int64_t i = 0; i < P && !bad; i++)
        bad = inv[i] < 0 || inv[i] >= U || pa[i] < 0 || pa[i] >= n || pb[i] < 0 || pb[i] >= n;
    for (int64_t u = 0; u < U && !bad; u++) bad = dir[u] < -1 || dir[u] >= D;
    if (bad) {
        PyErr_SetString(PyExc_ValueError, "direction_members: pairs of points among n, vectors and directions in range");
        goto done;
    }
    int64_t *at = calloc((size_t)D + 2, sizeof(int64_t));
    start_b = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)((D + 1) * 8));
    if (!at || !start_b) { free(at); if (!PyErr_Occurred()) PyErr_NoMemory(); goto done; }
    int64_t *start = (int64_t *)PyBytes_AS_STRING(start_b), w = 0;
    for (int64_t i = 0; i < P; i++) {
        int64_t d = dir[inv[i]];
        if (d >= 0) at[d + 2] += 2;
    }
    for (int64_t d = 0; d < D; d++) at[d + 2] += at[d + 1];
    int64_t ends = at[D + 1];
    if (n * D <= 64 * ends) {
        /* few directions: a bit for each (direction, point), read in order */
        free(at);
        int64_t W = (n + 63) / 64;  /* words a direction */
        uint64_t *mark = calloc((size_t)(W * D) + 1, sizeof(uint64_t));
        tmp = (int64_t *)mark;
        ids_b = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)((ends ? ends : 1) * 8));
        if (!mark || !ids_b) { if (!PyErr_Occurred()) PyErr_NoMemory(); goto done; }
        int64_t *ids = (int64_t *)PyBytes_AS_STRING(ids_b);
        for (int64_t i = 0; i < P; i++) {
            int64_t d = dir[inv[i]];
            if (d < 0) continue;
            uint64_t *row = mark + d * W;
            row[pa[i] >> 6] |= (uint64_t)1 << (pa[i] & 63);
            row[pb[i] >> 6] |= (uint64_t)1 << (pb[i] & 63);
        }
        for (int64_t d = 0; d < D; d++) {
            start[d] = w;
            const uint64_t *row = mark + d * W;
            for (int64_t c = 0; c < W; c++)
                for (uint64_t bits = row[c]; bits; bits &= bits - 1) ids[w++] = c * 64 + __builtin_ctzll(bits);
        }
    } else {
        /* many: the pairs' ends bucketed by direction (counted above, now placed), then each
         * bucket's points once each (a stamp per point) and sorted: work in the pairs, not n x D */
        stamp = malloc((size_t)(n ? n : 1) * sizeof(int64_t));
        tmp = malloc((size_t)(ends ? ends : 1) * sizeof(int64_t));
        ids_b = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)((ends ? ends : 1) * 8));
        if (!stamp || !tmp || !ids_b) { free(at); if (!PyErr_Occurred()) PyErr_NoMemory(); goto done; }
        int64_t *ids = (int64_t *)PyBytes_AS_STRING(ids_b);
        for (int64_t i = 0; i < P; i++) {  /* at[d + 1]: the next place of bucket d */
            int64_t d = dir[inv[i]];
            if (d >= 0) { ids[at[d + 1]++] = pa[i]; ids[at[d + 1]++] = pb[i]; }
        }
        for (int64_t c = 0; c < n; c++) stamp[c] = -1;
        for (int64_t d = 0, from = 0; d < D; d++) {  /* bucket d: from .. at[d + 1]; written back from w <= from */
            start[d] = w;
            for (int64_t t = from; t < at[d + 1]; t++)
                if (stamp[ids[t]] != d) { stamp[ids[t]] = d; ids[w++] = ids[t]; }
            sort_indices(ids + start[d], tmp, w - start[d]);
            from = at[d + 1];
        }
        free(at);
    }
    start[D] = w;
    if (PyBytes_GET_SIZE(ids_b) != w * 8 && _PyBytes_Resize(&ids_b, (Py_ssize_t)(w * 8)) < 0) goto done;  /* (frees ids_b on failure) */
    result = PyTuple_Pack(2, ids_b, start_b);
done:
    Py_XDECREF(ids_b); Py_XDECREF(start_b);
    free(stamp); free(tmp);
    PyBuffer_Release(&bi); PyBuffer_Release(&bd); PyBuffer_Release(&ba); PyBuffer_Release(&bb);
    return result;
}

/* ---- bands ----------------------------------------------------------------------------------- */

/* bands(lo, hi, wide) -> (band, narrowest) or None: repeats._bands without a sort. The intervals
 * [lo, hi] (float64, n each) mark cells of wide / 2.5 that they reach; a stretch reached by none and
 * wider than `wide` holds two whole cells, so only runs of unreached cells are measured, from the
 * intervals that end in the cell before the run and begin in the cell after. band (int64 bytes):
 * each interval's band, the stretches wider than `wide` before it; narrowest: the least such
 * stretch (inf if none). None when the cells would be too many for the intervals (or a value is not
 * finite, or an interval ends before it begins): the caller sorts. Cells are found by multiplying
 * by their inverse width (a division costs several multiplications): monotone in the coordinate, so
 * the same for every pass, and a cell is never narrower than wide / 2.5 by more than rounding. */
static inline int64_t band_cell(double v, double base, double inv, int64_t cells)
{
    return clamp_cell((int64_t)((v - base) * inv), cells);
}

static PyObject *bands(PyObject *self, PyObject *args)
{
    Py_buffer bl, bh;
    double wide;
    if (!PyArg_ParseTuple(args, "y*y*d", &bl, &bh, &wide)) return NULL;
    PyObject *result = NULL, *band_b = NULL;
    int64_t n = bl.len / 8, *cover = NULL, *run_before = NULL, *run_after = NULL, *cuts = NULL;
    double *left = NULL, *right = NULL;
    const double *lo = bl.buf, *hi = bh.buf;
    int decline = bh.len != bl.len || n == 0 || !(wide > 0);
    double base = 0, top = 0;
    for (int64_t i = 0; i < n && !decline; i++) {
        decline = !isfinite(lo[i]) || !isfinite(hi[i]) || hi[i] < lo[i];
        if (i == 0 || lo[i] < base) base = lo[i];
        if (i == 0 || hi[i] > top) top = hi[i];
    }
    double cw = wide / 2.5, cells = decline ? 0 : (top - base) / cw + 2;
    if (decline || !(cells <= 4.0 * (double)n + 1024)) {
        result = Py_None;
        Py_INCREF(result);
        goto done;
    }
    int64_t C = (int64_t)cells;
    double inv = 1.0 / cw;
    cover = calloc((size_t)C + 2, 8);
    run_before = malloc(((size_t)C + 2) * 8);
    run_after = malloc(((size_t)C + 2) * 8);
    cuts = calloc((size_t)C + 2, 8);
    band_b = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)(n * 8));
    if (!cover || !run_before || !run_after || !cuts || !band_b) { if (!PyErr_Occurred()) PyErr_NoMemory(); goto done; }
    int64_t *band = (int64_t *)PyBytes_AS_STRING(band_b), chmax = 0;
    for (int64_t i = 0; i < n; i++) {
        int64_t cl = band_cell(lo[i], base, inv, C), ch = band_cell(hi[i], base, inv, C);
        cover[cl]++;
        cover[ch + 1]--;
        if (ch > chmax) chmax = ch;
    }
    /* runs of cells no interval reaches, between the first and the last reached */
    int64_t nruns = 0, reached = 0;
    for (int64_t c = 0; c <= chmax; c++) {
        reached += cover[c];
        cover[c] = reached;
    }
    for (int64_t c = 0; c <= C + 1; c++) { run_before[c] = -1; run_after[c] = -1; }
    for (int64_t c = 1; c <= chmax;) {
        if (cover[c] != 0) { c++; continue; }
        int64_t e = c;
        while (e + 1 <= chmax && cover[e + 1] == 0) e++;
        run_before[c - 1] = nruns;  /* the cell before the run, and the cell after it */
        run_after[e + 1] = nruns;
        nruns++;
        c = e + 1;
    }
    left = malloc((size_t)(nruns ? nruns : 1) * 8);
    right = malloc((size_t)(nruns ? nruns : 1) * 8);
    if (!left || !right) { PyErr_NoMemory(); Py_CLEAR(band_b); goto done; }
    for (int64_t r = 0; r < nruns; r++) { left[r] = -INFINITY; right[r] = INFINITY; }
    for (int64_t i = 0; i < n; i++) {
        int64_t cl = band_cell(lo[i], base, inv, C), ch = band_cell(hi[i], base, inv, C);
        int64_t r = run_before[ch];
        if (r >= 0 && hi[i] > left[r]) left[r] = hi[i];
        r = run_after[cl];
        if (r >= 0 && lo[i] < right[r]) right[r] = lo[i];
    }
    double narrowest = INFINITY;
    for (int64_t c = 0; c <= C; c++) {  /* cuts[c]: the stretches wider than `wide` ending before cell c */
        cuts[c + 1] = cuts[c];
        int64_t r = run_after[c + 1];
        if (r >= 0) {
            double gap = right[r] - left[r];
            if (gap > wide) {
                cuts[c + 1]++;
                if (gap < narrowest) narrowest = gap;
            }
        }
    }
    for (int64_t i = 0; i < n; i++) band[i] = cuts[band_cell(lo[i], base, inv, C)];
    PyObject *nb = PyFloat_FromDouble(narrowest);
    if (nb) {
        result = PyTuple_Pack(2, band_b, nb);
        Py_DECREF(nb);
    }
done:
    Py_XDECREF(band_b);
    free(cover); free(run_before); free(run_after); free(cuts); free(left); free(right);
    PyBuffer_Release(&bl); PyBuffer_Release(&bh);
    return result;
}

/* counting_order(keys, n) -> bytes of int64: the stable order of integer keys in 0 .. n - 1 (as
 * np.argsort(keys, kind="stable") gives it), by counting. */
static PyObject *counting_order(PyObject *self, PyObject *args)
{
    Py_buffer bk;
    Py_ssize_t n;
    if (!PyArg_ParseTuple(args, "y*n", &bk, &n)) return NULL;
    PyObject *result = NULL;
    int64_t m = bk.len / 8, *start = NULL;
    const int64_t *key = bk.buf;
    if (n < 0) { PyErr_SetString(PyExc_ValueError, "counting_order: n >= 0"); goto done; }
    start = calloc((size_t)n + 1, sizeof(int64_t));
    result = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)(m * 8));
    if (!start || !result) { Py_CLEAR(result); if (!PyErr_Occurred()) PyErr_NoMemory(); goto done; }
    for (int64_t i = 0; i < m; i++) {
        if (key[i] < 0 || key[i] >= n) {
            Py_CLEAR(result);
            PyErr_SetString(PyExc_ValueError, "counting_order: a key out of 0 .. n - 1");
            goto done;
        }
        start[key[i] + 1]++;
    }
    for (int64_t c = 0; c < n; c++) start[c + 1] += start[c];
    int64_t *order = (int64_t *)PyBytes_AS_STRING(result);
    for (int64_t i = 0; i < m; i++) order[start[key[i]]++] = i;
done:
    free(start);
    PyBuffer_Release(&bk);
    return result;
}

/* components(n, a, b) -> bytes of int64 (n): the connected component of each of n nodes joined by
 * the edges (a[i], b[i]), labelled by its least node (distance.components), by union-find. */
static int64_t find_root(int64_t *parent, int64_t x)
{
    int64_t r = x;
    while (parent[r] != r) r = parent[r];
    while (parent[x] != r) { int64_t up = parent[x]; parent[x] = r; x = up; }
    return r;
}

static PyObject *components(PyObject *self, PyObject *args)
{
    Py_buffer ba, bb;
    Py_ssize_t n;
    if (!PyArg_ParseTuple(args, "ny*y*", &n, &ba, &bb)) return NULL;
    PyObject *result = NULL;
    int64_t E = ba.len / 8;
    const int64_t *a = ba.buf, *b = bb.buf;
    if (n < 0 || bb.len != ba.len) { PyErr_SetString(PyExc_ValueError, "components: n >= 0, edges of two ends"); goto done; }
    for (int64_t i = 0; i < E; i++)
        if (a[i] < 0 || a[i] >= n || b[i] < 0 || b[i] >= n) {
            PyErr_SetString(PyExc_ValueError, "components: an edge end out of 0 .. n - 1");
            goto done;
        }
    result = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)(n * 8));
    if (!result) goto done;
    int64_t *parent = (int64_t *)PyBytes_AS_STRING(result);
    for (int64_t x = 0; x < n; x++) parent[x] = x;
    for (int64_t i = 0; i < E; i++) {  /* the root kept is the lesser: each root is its component's least node */
        int64_t ra = find_root(parent, a[i]), rb = find_root(parent, b[i]);
        if (ra < rb) parent[rb] = ra;
        else if (rb < ra) parent[ra] = rb;
    }
    for (int64_t x = 0; x < n; x++) parent[x] = find_root(parent, x);
done:
    PyBuffer_Release(&ba); PyBuffer_Release(&bb);
    return result;
}

/* ---- cutting lines ---------------------------------------------------------------------------- */

/* cutting(m, o, did, close, sizes, D) -> bytes (L): 1 for each line rows._drop_cutting_lines drops.
 * m, o: every (contact, line) membership sorted by contact (int64, M each); did: each line's direction
 * (int64, L); close: D x D uint8, whether two directions are alike; sizes: each line's members (L). */
static PyObject *cutting(PyObject *self, PyObject *args)
{
    Py_buffer bm, bo, bd, bc, bs;
    Py_ssize_t D;
    if (!PyArg_ParseTuple(args, "y*y*y*y*y*n", &bm, &bo, &bd, &bc, &bs, &D)) return NULL;
    PyObject *result = NULL;
    int64_t M = bm.len / 8, L = bs.len / 8;
    int64_t *start = NULL, *fill = NULL, *cm = NULL, *ncross = NULL, *per_dir = NULL, *stamp = NULL;
    int64_t *other = NULL, *alike = NULL;
    const int64_t *m = bm.buf, *o = bo.buf, *did = bd.buf, *sizes = bs.buf;
    const unsigned char *close = bc.buf;
    int bad = bo.len != bm.len || bd.len != bs.len || D < 1 || D > 65536 || bc.len != D * D ||
              (L > 0 && D > PY_SSIZE_T_MAX / 16 / L);
    for (int64_t i = 0; i < M && !bad; i++) bad = o[i] < 0 || o[i] >= L || (i && m[i] < m[i - 1]);
    for (int64_t l = 0; l < L && !bad; l++) bad = did[l] < 0 || did[l] >= D;
    if (bad) {
        PyErr_SetString(PyExc_ValueError, "cutting: memberships sorted by contact, lines and directions in range");
        goto done;
    }
    start = calloc((size_t)L + 1, 8); cm = calloc((size_t)L + 1, 8); ncross = calloc((size_t)L + 1, 8);
    per_dir = calloc((size_t)(L * D) + 1, 8); stamp = malloc(((size_t)L + 1) * 8); fill = malloc(((size_t)L + 1) * 8);
    result = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)L);
    if (!start || !cm || !ncross || !per_dir || !stamp || !fill || !result) {
        Py_CLEAR(result);
        if (!PyErr_Occurred()) PyErr_NoMemory();
        goto done;
    }
    char *drop = PyBytes_AS_STRING(result);
    memset(drop, 0, (size_t)L);
    /* every ordered pair of lines (of unlike directions) through one contact, bucketed by the first */
    for (int pass = 0; pass < 2; pass++) {
        for (int64_t g = 0; g < M;) {
            int64_t h = g;
            while (h < M && m[h] == m[g]) h++;
            for (int64_t i = g; i < h; i++) {
                int any = 0;
                for (int64_t j = g; j < h; j++) {
                    if (j == i || close[did[o[i]] * D + did[o[j]]]) continue;
                    any = 1;
                    if (pass == 0) start[o[i] + 1]++;
                    else other[fill[o[i]]++] = o[j];
                }
                if (pass == 0 && any) cm[o[i]]++;
            }
            g = h;
        }
        if (pass == 0) {
            for (int64_t l = 0; l < L; l++) start[l + 1] += start[l];
            memcpy(fill, start, (size_t)L * 8);
            other = malloc((size_t)(start[L] ? start[L] : 1) * 8);
            if (!other) { Py_CLEAR(result); PyErr_NoMemory(); goto done; }
        }
    }
    /* the lines each crosses, each once: how many, and how many of each direction */
    for (int64_t l = 0; l < L; l++) stamp[l] = -1;
    int64_t suspects = 0;
    for (int64_t a = 0; a < L; a++) {
        for (int64_t t = start[a]; t < start[a + 1]; t++) {
            int64_t b = other[t];
            if (stamp[b] == a) continue;
            stamp[b] = a;
            ncross[a]++;
            per_dir[a * D + did[b]]++;
        }
        suspects += cm[a] >= sizes[a] && ncross[a] >= sizes[a];
    }
    if (!suspects) goto done;
    /* a suspect is dropped unless some row it cuts is crossed by three lines of its direction;
     * alike[b * D + d]: the lines crossing b with a direction close to d (per_dir, summed so) */
    alike = calloc((size_t)(L * D) + 1, 8);
    if (!alike) { Py_CLEAR(result); PyErr_NoMemory(); goto done; }
    for (int64_t b = 0; b < L; b++)
        for (int64_t d2 = 0; d2 < D; d2++) {
            int64_t c = per_dir[b * D + d2];
            if (c)
                for (int64_t d = 0; d < D; d++) alike[b * D + d] += c * close[d2 * D + d];
        }
    for (int64_t a = 0; a < L; a++) {
        if (!(cm[a] >= sizes[a] && ncross[a] >= sizes[a])) continue;
        int64_t most = 0, da = did[a];
        for (int64_t t = start[a]; t < start[a + 1]; t++) {
            int64_t v = alike[other[t] * D + da];  /* (a line met twice counts once: the same value) */
            if (v > most) most = v;
        }
        drop[a] = most < 3;
    }
done:
    free(start); free(fill); free(cm); free(ncross); free(per_dir); free(stamp); free(other); free(alike);
    PyBuffer_Release(&bm); PyBuffer_Release(&bo); PyBuffer_Release(&bd); PyBuffer_Release(&bc); PyBuffer_Release(&bs);
    return result;
}

/* ---- the measures of plain shapes ------------------------------------------------------------ */

/* The six measures of n plain shapes (geometry.PlainShapes), as bytes of float64: area, centre (x,
 * y), short side, long side, the long side's angle, box (xmin, ymin, xmax, ymax); o: their buffers.
 * 0 when memory ran short (the caller releases what was made). */
static int measures_new(PyObject *out[6], double *o[6], int64_t n)
{
    for (int j = 0; j < 6; j++) {
        if (!(out[j] = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)(n * 8 * (j == 1 ? 2 : j == 5 ? 4 : 1))))) return 0;
        o[j] = (double *)PyBytes_AS_STRING(out[j]);
    }
    return 1;
}

/* The six measures as a tuple, which takes them over (out cleared), or NULL. */
static PyObject *measures_tuple(PyObject *out[6])
{
    PyObject *result = PyTuple_New(6);
    if (result)
        for (int j = 0; j < 6; j++) { PyTuple_SET_ITEM(result, j, out[j]); out[j] = NULL; }
    return result;
}

/* ---- axis_rectangles ------------------------------------------------------------------------- */

/* axis_rectangles(coords) -> None or (area, centre, short, long, angle, box), bytes of float64 (centre:
 * x, y; box: xmin, ymin, xmax, ymax, for each polygon):
 * coords, n x 4 x 2 float64, when every polygon is an axis-parallel rectangle (its first edge along x
 * or along y), as geometry._axis_rectangles measures them; None when one is not. */
static PyObject *axis_rectangles(PyObject *self, PyObject *args)
{
    Py_buffer bc;
    if (!PyArg_ParseTuple(args, "y*", &bc)) return NULL;
    const double *P = bc.buf;
    int64_t n = bc.len / (8 * (Py_ssize_t)sizeof(double));
    PyObject *result = NULL, *out[6] = {NULL};
    int all = 1;
    for (int64_t i = 0; i < n && all; i++) {
        const double *p = P + 8 * i;  /* x0 y0 x1 y1 x2 y2 x3 y3 */
        int across = p[0] == p[2] && p[3] == p[5] && p[4] == p[6] && p[7] == p[1];
        int along = p[1] == p[3] && p[2] == p[4] && p[5] == p[7] && p[6] == p[0];
        all = across || along;
    }
    if (!all) {
        result = Py_None;
        Py_INCREF(result);
        goto done;
    }
    double *o[6];
    if (!measures_new(out, o, n)) goto done;
    double *area = o[0], *centre = o[1], *lo = o[2], *hi = o[3], *ang = o[4], *box = o[5];
    for (int64_t i = 0; i < n; i++) {
        const double *p = P + 8 * i;
        double lx = p[0] < p[4] ? p[0] : p[4], hx = p[0] > p[4] ? p[0] : p[4];
        double ly = p[1] < p[5] ? p[1] : p[5], hy = p[1] > p[5] ? p[1] : p[5];
        double w = hx - lx, h = hy - ly;
        int across = p[0] == p[2] && p[3] == p[5] && p[4] == p[6] && p[7] == p[1];
        int long_vertical = w == h ? across : h > w;  /* the first edge runs along y: across */
        area[i] = w * h;
        centre[2 * i] = (lx + hx) / 2;
        centre[2 * i + 1] = (ly + hy) / 2;
        lo[i] = w < h ? w : h;
        hi[i] = w > h ? w : h;
        ang[i] = long_vertical ? 90.0 : 0.0;
        box[4 * i] = lx; box[4 * i + 1] = ly; box[4 * i + 2] = hx; box[4 * i + 3] = hy;
    }
    result = measures_tuple(out);
done:
    for (int j = 0; j < 6; j++) Py_XDECREF(out[j]);
    PyBuffer_Release(&bc);
    return result;
}

/* ---- convex_quads ---------------------------------------------------------------------------- */

/* An angle in degrees, [0, 180), as numpy's degrees(arctan2(y, x)) % 180.0 gives it. */
static inline double half_turn_degrees(double y, double x)
{
    double a = atan2(y, x) * (180.0 / M_PI);
    double m = fmod(a, 180.0);
    if (m) { if (m < 0) m += 180.0; }
    else m = 0.0;
    return m;
}

/* One part of convex_quads: the polygons from .. to; all is cleared at the first that is no convex
 * quadrilateral of min_area (the other part's values are then of no use). */
typedef struct {
    const double *P;
    double **o, min_area;
    int64_t from, to;
    int all;
} QuadPass;

static void *quad_pass(void *arg)
{
    QuadPass *Q = arg;
    for (int64_t i = Q->from; i < Q->to; i++) {
        const double *p = Q->P + 8 * i;
        double x[4], y[4], ex[4], ey[4];
        for (int j = 0; j < 4; j++) { x[j] = p[2 * j]; y[j] = p[2 * j + 1]; }
        for (int j = 0; j < 4; j++) { ex[j] = x[(j + 1) & 3] - x[j]; ey[j] = y[(j + 1) & 3] - y[j]; }
        int left = 1, right = 1;
        for (int j = 0; j < 4; j++) {
            double t = ex[j] * ey[(j + 1) & 3] - ey[j] * ex[(j + 1) & 3];
            left &= t > 0;
            right &= t < 0;
        }
        /* area and centroid relative to the first vertex (_shoelace) */
        double px[4], py[4], a2 = 0.0, sx = 0.0, sy = 0.0;
        for (int j = 0; j < 4; j++) { px[j] = x[j] - x[0]; py[j] = y[j] - y[0]; }
        for (int j = 0; j < 4; j++) {
            int k = (j + 1) & 3;
            double cross = px[j] * py[k] - px[k] * py[j];
            a2 = a2 + cross;
            sx = sx + (px[j] + px[k]) * cross;
            sy = sy + (py[j] + py[k]) * cross;
        }
        double area = fabs(a2 / 2.0);
        if (!(left || right) || !(area >= Q->min_area)) { Q->all = 0; return NULL; }
        Q->o[0][i] = area;
        double cx = x[0] + sx / (3.0 * a2), cy = y[0] + sy / (3.0 * a2);
        if (!isfinite(cx) || !isfinite(cy)) {  /* sums beyond a double's range: the vertex mean */
            cx = (((0.0 + x[0]) + x[1]) + x[2]) + x[3];
            cy = (((0.0 + y[0]) + y[1]) + y[2]) + y[3];
            cx = cx / 4.0;
            cy = cy / 4.0;
        }
        Q->o[1][2 * i] = cx;
        Q->o[1][2 * i + 1] = cy;
        /* a rectangle's sides read directly (_rectangle_sides) */
        double l0 = norm2(ex[0], ey[0]), l1 = norm2(ex[1], ey[1]);
        int square = fabs(ex[0] * ex[1] + ey[0] * ey[1]) <= 1e-9 * l0 * l1 &&
                     fabs(norm2(ex[2], ey[2]) - l0) <= 1e-9 * (l0 + l1);
        if (square) {
            int first = l0 >= l1;
            Q->o[2][i] = l0 < l1 ? l0 : l1;
            Q->o[3][i] = l0 > l1 ? l0 : l1;
            Q->o[4][i] = half_turn_degrees(first ? ey[0] : ey[1], first ? ex[0] : ex[1]);
        } else {  /* the least rectangle with a side on an edge (_min_rect_stack) */
            double mx = 0.0, my = 0.0, qx[4], qy[4];
            for (int j = 0; j < 4; j++) { mx = mx + x[j]; my = my + y[j]; }
            mx = mx / 4.0;
            my = my / 4.0;
            for (int j = 0; j < 4; j++) { qx[j] = x[j] - mx; qy[j] = y[j] - my; }
            double best = INFINITY, wb = 0, hb = 0, uxb = 0, uyb = 0;
            for (int k = 0; k < 4; k++) {
                double dx = qx[(k + 1) & 3] - qx[k], dy = qy[(k + 1) & 3] - qy[k];
                double len = norm2(dx, dy);
                double ux = len > 0 ? dx / len : 1.0, uy = len > 0 ? dy / len : 0.0;
                double alo = 0, ahi = 0, blo = 0, bhi = 0;
                for (int j = 0; j < 4; j++) {
                    double a = ux * qx[j] + uy * qy[j], b = ux * qy[j] - uy * qx[j];
                    if (!j) { alo = ahi = a; blo = bhi = b; continue; }
                    alo = lesser(alo, a); ahi = greater(ahi, a);
                    blo = lesser(blo, b); bhi = greater(bhi, b);
                }
                double w = ahi - alo, h = bhi - blo;
                double score = w * h + 1e-12 * lesser(w, h);
                if (score < best) { best = score; wb = w; hb = h; uxb = ux; uyb = uy; }
            }
            int long_is_w = wb >= hb;
            Q->o[2][i] = long_is_w ? hb : wb;
            Q->o[3][i] = long_is_w ? wb : hb;
            Q->o[4][i] = long_is_w ? half_turn_degrees(uyb, uxb) : half_turn_degrees(uxb, -uyb);
        }
        double xlo = x[0], xhi = x[0], ylo = y[0], yhi = y[0];
        for (int j = 1; j < 4; j++) {
            xlo = lesser(xlo, x[j]); xhi = greater(xhi, x[j]);
            ylo = lesser(ylo, y[j]); yhi = greater(yhi, y[j]);
        }
        Q->o[5][4 * i] = xlo; Q->o[5][4 * i + 1] = ylo; Q->o[5][4 * i + 2] = xhi; Q->o[5][4 * i + 3] = yhi;
    }
    return NULL;
}

/* convex_quads(coords, min_area) -> None or (area, centre, d, length, angle, box), bytes of float64
 * (centre: x, y; box: xmin, ymin, xmax, ymax, for each polygon): coords, n x 4 x 2 float64, when every polygon is a convex quadrilateral
 * (every turn one way) of at least min_area; None when one is not. Each value as the numpy form
 * (geometry._convex_quad_measures: _shoelace, _rectangle_sides, _min_rect_stack) computes it, with
 * the same operations in the same order. */
static PyObject *convex_quads(PyObject *self, PyObject *args)
{
    Py_buffer bc;
    double min_area;
    if (!PyArg_ParseTuple(args, "y*d", &bc, &min_area)) return NULL;
    const double *P = bc.buf;
    int64_t n = bc.len / (8 * (Py_ssize_t)sizeof(double));
    PyObject *result = NULL, *out[6] = {NULL};
    double *o[6];
    if (!measures_new(out, o, n)) goto done;
    QuadPass Q[2];
    int64_t half = halfway(n);  /* (two halves, on two threads when many) */
    for (int h = 0; h < 2; h++) {
        Q[h].P = P; Q[h].o = o; Q[h].min_area = min_area; Q[h].all = 1;
        Q[h].from = h ? half : 0; Q[h].to = h ? n : half;
    }
    Py_BEGIN_ALLOW_THREADS
    run_halves(quad_pass, &Q[0], &Q[1], half < n);
    Py_END_ALLOW_THREADS
    if (!Q[0].all || !Q[1].all) {
        result = Py_None;
        Py_INCREF(result);
        goto done;
    }
    result = measures_tuple(out);
done:
    for (int j = 0; j < 6; j++) Py_XDECREF(out[j]);
    PyBuffer_Release(&bc);
    return result;
}

/* ---- peaks ----------------------------------------------------------------------------------- */

/* x % pi for x in [-pi, 2 pi) as rows._mod_pi gives it. */
static inline double mod_pi(double x) { return x < 0 ? x + M_PI : (x >= M_PI ? x - M_PI : x); }

/* peaks(theta, slack, vx, vy, bins, weight, nbins, span, most) -> (direction, found): rows._peaks,
 * the same steps in the same order: each distinct vector's direction (int64 bytes, -1: none, in the
 * vectors' order) and the directions found (float64 bytes). theta, slack, vx, vy float64 and bins,
 * weight int64, one each a vector; bins in 0 .. nbins - 1. */
static PyObject *peaks(PyObject *self, PyObject *args)
{
    Py_buffer bt, bs, bx, by, bb, bw;
    Py_ssize_t nbins, span, most;
    if (!PyArg_ParseTuple(args, "y*y*y*y*y*y*nnn", &bt, &bs, &bx, &by, &bb, &bw, &nbins, &span, &most)) return NULL;
    PyObject *result = NULL, *dir_b = NULL, *found_b = NULL;
    int64_t m = bt.len / 8;
    const double *theta = bt.buf, *slack = bs.buf, *vx = bx.buf, *vy = by.buf;
    const int64_t *bins = bb.buf, *weight = bw.buf;
    int64_t *start = NULL, *order = NULL, *counts = NULL, *smooth = NULL;
    double *found = NULL;
    unsigned char *alive = NULL;
    int bad = bs.len != bt.len || bx.len != bt.len || by.len != bt.len || bb.len != bt.len || bw.len != bt.len ||
              nbins < 1 || span < 1 || 2 * span + 1 > nbins || most < 0;
    for (int64_t i = 0; i < m && !bad; i++) bad = bins[i] < 0 || bins[i] >= nbins;
    if (bad) {
        PyErr_SetString(PyExc_ValueError, "peaks: one theta, slack, vector, bin and weight a vector, bins in range");
        goto done;
    }
    start = calloc((size_t)nbins + 2, sizeof(int64_t));
    counts = calloc((size_t)nbins, sizeof(int64_t));
    smooth = malloc((size_t)nbins * sizeof(int64_t));
    order = malloc((size_t)(m ? m : 1) * sizeof(int64_t));
    alive = malloc((size_t)(m ? m : 1));
    found = malloc((size_t)(most ? most : 1) * sizeof(double));
    dir_b = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)(m * 8));
    if (!start || !counts || !smooth || !order || !alive || !found || !dir_b) { PyErr_NoMemory(); goto done; }
    int64_t *direction = (int64_t *)PyBytes_AS_STRING(dir_b), nf = 0;
    Py_BEGIN_ALLOW_THREADS
    /* the vectors by bin, stable (counted, then placed); each bin's pairs */
    for (int64_t i = 0; i < m; i++) { start[bins[i] + 2]++; counts[bins[i]] += weight[i]; }
    for (int64_t b = 0; b < nbins; b++) start[b + 2] += start[b + 1];
    for (int64_t i = 0; i < m; i++) order[start[bins[i] + 1]++] = i;  /* now start[b]: bin b's first place */
    for (int64_t i = 0; i < m; i++) { alive[i] = 1; direction[i] = -1; }
    while (nf < most) {
        int64_t peak = 0;
        for (int64_t b = 0; b < nbins; b++) {
            smooth[b] = counts[b] + counts[(b + nbins - 1) % nbins] + counts[(b + 1) % nbins];
            if (smooth[b] > smooth[peak]) peak = b;
        }
        if (smooth[peak] < 2) break;
        /* the weighted circular mean of the doubled angles in the peak's three bins, summed in order */
        double re = 0.0, im = 0.0;
        for (int64_t k = -1; k <= 1; k++) {
            int64_t b = (peak + k + nbins) % nbins;
            for (int64_t t = start[b]; t < start[b + 1]; t++) {
                int64_t i = order[t];
                if (!alive[i]) continue;
                double x = vx[i], y = vy[i], w = (double)weight[i];
                re = re + w * (x * x - y * y);
                im = im + w * (2 * x * y);
            }
        }
        double best = atan2(im, re) / 2, r = fmod(best, M_PI);  /* best % pi, as Python takes it */
        if (r) { if (r < 0) r += M_PI; }
        else r = 0.0;
        best = r;
        /* the peak's bins' vectors, and those within their slack of best up to span bins away */
        int64_t taken = 0;
        for (int64_t k = -span; k <= span; k++) {
            int64_t b = (peak + k + nbins) % nbins;
            int own = k >= -1 && k <= 1;
            for (int64_t t = start[b]; t < start[b + 1]; t++) {
                int64_t i = order[t];
                if (!alive[i]) continue;
                double diff = fabs(mod_pi(theta[i] - best + M_PI / 2) - M_PI / 2);
                if (!own && !(diff <= slack[i])) continue;
                alive[i] = 0;
                counts[b] -= weight[i];
                taken += weight[i];
                direction[i] = -2 - nf;  /* taken now: made this direction's below if it holds two pairs */
            }
        }
        /* two distinct pairs or more hold three contacts or more */
        int keep = taken >= 2;
        for (int64_t k = -span; k <= span; k++) {
            int64_t b = (peak + k + nbins) % nbins;
            for (int64_t t = start[b]; t < start[b + 1]; t++) {
                int64_t i = order[t];
                if (direction[i] == -2 - nf) direction[i] = keep ? nf : -1;
            }
        }
        if (keep) found[nf++] = best;
    }
    Py_END_ALLOW_THREADS
    found_b = PyBytes_FromStringAndSize((const char *)found, (Py_ssize_t)(nf * 8));
    if (found_b) result = PyTuple_Pack(2, dir_b, found_b);
done:
    Py_XDECREF(dir_b); Py_XDECREF(found_b);
    free(start); free(counts); free(smooth); free(order); free(alive); free(found);
    PyBuffer_Release(&bt); PyBuffer_Release(&bs); PyBuffer_Release(&bx);
    PyBuffer_Release(&by); PyBuffer_Release(&bb); PyBuffer_Release(&bw);
    return result;
}

static PyMethodDef methods[] = {
    {"near_pairs", near_pairs, METH_VARARGS,
     "near_pairs(px, py, k, reach, start, nn) -> bytes of int64 pairs (i < j), the i column then the j; nn filled in place."},
    {"lines_all", lines_all, METH_VARARGS,
     "lines_all(x, y, members, offsets, ux, uy, tol, spacing_tol, most, threads) -> (ids, first, count, pitch, gaps, start) as bytes."},
    {"choose", choose, METH_VARARGS,
     "choose(members, offsets, order, n) -> bytes: 1 for each line taken (rows._choose)."},
    {"gds_runs", gds_runs, METH_VARARGS,
     "gds_runs(data) -> (start, end, last, paths): plain polygon elements of a GDSII stream (gdsii._runs)."},
    {"gds_points", gds_points, METH_VARARGS,
     "gds_points(data, offset, stride, count, v, scale) -> float64 bytes of evenly spaced closed polygons, or None."},
    {"pair_vectors", pair_vectors, METH_VARARGS,
     "pair_vectors(cx, cy, pa, pb) -> (inverse, vx, vy, weight): the pairs' distinct vectors, in order of first appearance."},
    {"direction_members", direction_members, METH_VARARGS,
     "direction_members(inverse, direction, pa, pb, n, D) -> (ids, start): each direction's points."},
    {"bands", bands, METH_VARARGS,
     "bands(lo, hi, wide) -> (band, narrowest) or None: intervals parted by stretches wider than wide (repeats._bands)."},
    {"counting_order", counting_order, METH_VARARGS,
     "counting_order(keys, n) -> bytes: the stable order of int64 keys in 0 .. n - 1, by counting."},
    {"components", components, METH_VARARGS,
     "components(n, a, b) -> bytes: each node's component, labelled by its least node (union-find)."},
    {"cutting", cutting, METH_VARARGS,
     "cutting(m, o, did, close, sizes, D) -> bytes: 1 for each line rows._drop_cutting_lines drops."},
    {"axis_rectangles", axis_rectangles, METH_VARARGS,
     "axis_rectangles(coords) -> None or (area, centre, short, long, angle, box): axis-parallel rectangles measured."},
    {"peaks", peaks, METH_VARARGS,
     "peaks(theta, slack, vx, vy, bins, weight, nbins, span, most) -> (direction, found): rows._peaks."},
    {"convex_quads", convex_quads, METH_VARARGS,
     "convex_quads(coords, min_area) -> None or (area, centre, d, length, angle, box): convex quadrilaterals measured."},
    {"boxes_touch", boxes_touch, METH_VARARGS,
     "boxes_touch(box[, quads[, threads]]) -> whether two boxes (n x 4 float64) overlap or touch (with quads: two convex quadrilaterals may); None for corners beyond 1e150."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_native", "stencilgen's compiled kernels", -1, methods};

PyMODINIT_FUNC PyInit__native(void) { return PyModule_Create(&module); }
