// The compiled floor: the one-layer arrangement of n lines in the square [-h, h]^2.
//
// Builds what regionscope builds for a one-hidden-layer ReLU network: the vertices
// (square corners, points where lines meet the boundary, crossings inside), and
// every face as a counter-clockwise list of its corners, by the same method
// (chords ranked by where they meet the boundary, crossings sorted along each
// chord, the four half-edges at a crossing in a known order, faces traced). No
// snapping, no degenerate cases (lines in general position), no activation
// patterns: a lower bound on the work, in plain C++.
//
// Build and run (see bench/README.md):
//   g++ -O2 -march=native -o bench/floor/floor bench/floor/floor.cpp
//   python bench/floor/lines.py 2-1000 > /tmp/lines.txt   # the suite's weights
//   bench/floor/floor /tmp/lines.txt 1.0 20
// Prints: regions, vertices, corners, and the best and median time of the runs.

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <vector>

struct Result {
    long regions, vertices, corners;
};

static double perimeter_pos(double x, double y, double h) {
    // counter-clockwise from corner (-h, -h): bottom [0,1), right [1,2), top [2,3), left [3,4)
    double e = 1e-12 * h;
    if (std::fabs(y + h) <= e) return (x + h) / (2 * h);
    if (std::fabs(x - h) <= e) return 1 + (y + h) / (2 * h);
    if (std::fabs(y - h) <= e) return 2 + (h - x) / (2 * h);
    return 3 + (h - y) / (2 * h);
}

static Result build(const std::vector<double>& w0, const std::vector<double>& w1,
                    const std::vector<double>& b, double h) {
    // 1. chords: where each line meets the boundary (two points), by position
    std::vector<double> px, py, ppos;  // boundary points
    std::vector<int> ca, cb;           // chord ends (boundary point ids)
    const double cx[4] = {-h, h, h, -h}, cy[4] = {-h, -h, h, h};
    for (size_t i = 0; i < b.size(); ++i) {
        double val[4];
        for (int k = 0; k < 4; ++k) val[k] = w0[i] * cx[k] + w1[i] * cy[k] + b[i];
        int found[2], nf = 0;
        for (int k = 0; k < 4 && nf < 2; ++k) {
            int k2 = (k + 1) % 4;
            if ((val[k] > 0) != (val[k2] > 0)) {
                double t = val[k] / (val[k] - val[k2]);
                double x = cx[k] + t * (cx[k2] - cx[k]), y = cy[k] + t * (cy[k2] - cy[k]);
                px.push_back(x);
                py.push_back(y);
                ppos.push_back(k + t);
                found[nf++] = (int)px.size() - 1;
            }
        }
        if (nf == 2) {
            ca.push_back(found[0]);
            cb.push_back(found[1]);
        } else {
            for (int k = 0; k < nf; ++k) { px.pop_back(); py.pop_back(); ppos.pop_back(); }
        }
    }
    int nch = (int)ca.size(), npts = (int)px.size();
    // 2. crossings: chords whose ends interleave around the boundary
    std::vector<int> xa, xb;
    std::vector<double> sa, sb, xx, xy;
    for (int i = 0; i < nch; ++i) {
        double lo = std::min(ppos[ca[i]], ppos[cb[i]]), hi = std::max(ppos[ca[i]], ppos[cb[i]]);
        for (int j = i + 1; j < nch; ++j) {
            double p = ppos[ca[j]], q = ppos[cb[j]];
            bool in_p = lo < p && p < hi, in_q = lo < q && q < hi;
            if (in_p == in_q) continue;
            double ax = px[ca[i]], ay = py[ca[i]], dax = px[cb[i]] - ax, day = py[cb[i]] - ay;
            double bx = px[ca[j]], by = py[ca[j]], dbx = px[cb[j]] - bx, dby = py[cb[j]] - by;
            double wx = bx - ax, wy = by - ay, den = dax * dby - day * dbx;
            double s = (wx * dby - wy * dbx) / den, r = (wx * day - wy * dax) / den;
            xa.push_back(i); xb.push_back(j); sa.push_back(s); sb.push_back(r);
            xx.push_back(ax + s * dax); xy.push_back(ay + s * day);
        }
    }
    int nx = (int)xa.size();
    // 3. crossings along each chord, sorted
    std::vector<int> start(nch + 1, 0);
    for (int x = 0; x < nx; ++x) { start[xa[x] + 1]++; start[xb[x] + 1]++; }
    for (int c = 0; c < nch; ++c) start[c + 1] += start[c];
    std::vector<int> fill(start.begin(), start.end() - 1);
    std::vector<std::pair<double, int>> mem(2 * nx);
    for (int x = 0; x < nx; ++x) {
        mem[fill[xa[x]]++] = {sa[x], x};
        mem[fill[xb[x]]++] = {sb[x], nx + x};
    }
    for (int c = 0; c < nch; ++c) std::sort(mem.begin() + start[c], mem.begin() + start[c + 1]);
    // 4. half-edges: boundary ring (4 corners + points, by position), then chord segments
    std::vector<int> ring(npts);
    for (int i = 0; i < npts; ++i) ring[i] = i;
    std::sort(ring.begin(), ring.end(), [&](int a, int b) { return ppos[a] < ppos[b]; });
    int nb = npts + 4;
    std::vector<int> bvert(nb), bidx(npts);  // vertex ids: corners 0..3, points 4.., crossings
    int k = 0;
    for (int c = 0, i = 0; c < 4; ++c) {
        bvert[k++] = c;
        while (i < npts && ppos[ring[i]] < c + 1) { bidx[ring[i]] = k; bvert[k++] = 4 + ring[i]; ++i; }
    }
    int nseg = nch + 2 * nx;
    long nh = nb + 2L * nseg;
    std::vector<long> succ(nh), orig(nh);
    for (int j = 0; j < nb; ++j) { succ[j] = (j + 1) % nb; orig[j] = bvert[j]; }
    std::vector<int> visit(2 * nx);
    for (int c = 0; c < nch; ++c) {
        for (int i = start[c]; i < start[c + 1]; ++i) visit[mem[i].second] = i - start[c];
        int first = start[c] + c;  // segments of chord c: first .. first + count
        int cnt = start[c + 1] - start[c];
        for (int q = 0; q <= cnt; ++q) {
            int s = first + q;
            int from = q == 0 ? 4 + ca[c] : 4 + npts + (mem[start[c] + q - 1].second % nx);
            int to = q == cnt ? 4 + cb[c] : 4 + npts + (mem[start[c] + q].second % nx);
            orig[nb + 2 * s] = from;
            orig[nb + 2 * s + 1] = to;
        }
    }
    auto seg = [&](int c, int q) { return (long)start[c] + c + q; };
    auto fwd = [&](long s) { return nb + 2 * s; };
    auto bwd = [&](long s) { return nb + 2 * s + 1; };
    // chord ends: one per boundary point; leave into the chord, arrive from it
    for (int c = 0; c < nch; ++c) {
        int cnt = start[c + 1] - start[c];
        int ja = bidx[ca[c]], jb = bidx[cb[c]];
        succ[bwd(seg(c, 0))] = ja;  // arriving at end a: continue along the boundary
        succ[(ja + nb - 1) % nb] = fwd(seg(c, 0));
        succ[fwd(seg(c, cnt))] = jb;
        succ[(jb + nb - 1) % nb] = bwd(seg(c, cnt));
    }
    // crossings: four rays in a known order
    for (int x = 0; x < nx; ++x) {
        int a = xa[x], b = xb[x], va = visit[x], vb = visit[nx + x];
        long a_b = bwd(seg(a, va)), a_f = fwd(seg(a, va + 1));
        long b_b = bwd(seg(b, vb)), b_f = fwd(seg(b, vb + 1));
        double s = ppos[ca[a]], t = ppos[cb[a]], p = ppos[cb[b]];
        bool flip = s < t ? (s < p && p < t) : (p > s || p < t);
        succ[a_b - 1] = flip ? b_b : b_f;  // twin of a backward half-edge: the forward one
        succ[a_f + 1] = flip ? b_f : b_b;
        succ[b_b - 1] = flip ? a_f : a_b;
        succ[b_f + 1] = flip ? a_b : a_f;
    }
    // 5. faces: walk every inner half-edge once (the outer ring is not a face)
    std::vector<char> seen(nh, 0);
    std::vector<long> offsets{0}, corners;
    corners.reserve(nh);
    for (long h0 = 0; h0 < nh; ++h0) {
        if (seen[h0]) continue;
        long hh = h0;
        do { seen[hh] = 1; corners.push_back(orig[hh]); hh = succ[hh]; } while (!seen[hh]);
        offsets.push_back((long)corners.size());
    }
    return {(long)offsets.size() - 1, 4L + npts + nx, (long)corners.size()};
}

int main(int argc, char** argv) {
    if (argc < 2) { std::fprintf(stderr, "usage: floor LINES [HALF_WIDTH] [RUNS]\n"); return 2; }
    double h = argc > 2 ? std::atof(argv[2]) : 1.0;
    int runs = argc > 3 ? std::atoi(argv[3]) : 10;
    FILE* f = std::fopen(argv[1], "r");
    if (!f) { std::perror(argv[1]); return 2; }
    std::vector<double> w0, w1, b;
    double p, q, r;
    while (std::fscanf(f, "%lf %lf %lf", &p, &q, &r) == 3) { w0.push_back(p); w1.push_back(q); b.push_back(r); }
    std::fclose(f);
    std::vector<double> times;
    Result res{};
    for (int i = 0; i < runs; ++i) {
        auto t0 = std::chrono::steady_clock::now();
        res = build(w0, w1, b, h);
        times.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
    std::sort(times.begin(), times.end());
    std::printf("lines %zu regions %ld vertices %ld corners %ld best %.2f ms median %.2f ms\n",
                b.size(), res.regions, res.vertices, res.corners, times[0] * 1e3,
                times[times.size() / 2] * 1e3);
    return 0;
}
