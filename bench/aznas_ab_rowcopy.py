"""Before/after timing of the eleventh session's AZ-NAS change: expressivity's covariance and
trainability's block cross-product on [B*H*W, C] row-matrix copies (before) against per-sample
batched products (after, the current code). Both versions run in one process, interleaved per
architecture (the before functions are patched in), so machine speed cancels out.

    python bench/aznas_ab_rowcopy.py 2 24     # torch threads, archs of the 200-arch reference sample

Prints the median ms of each version and the speed-up (docs/benchmarks.md, "Speed (eleventh session)").
"""
import sys, time, math, torch, numpy as np
torch.set_num_threads(int(sys.argv[1]))
import hwnas.proxies.az_nas as az, hwnas.proxies.passes as ps
from hwnas.eval import score_architecture
from hwnas.proxies.features import as_nchw, match_resolution
new_ent, new_sp = az.feature_entropy, ps.block_spectral_norm
def old_ent(feature):
    f = as_nchw(feature.detach()); c = f.shape[1]
    rows = f.permute(0, 2, 3, 1).reshape(-1, c).double(); n = rows.shape[0]
    if n < 2: return -math.inf
    centred = rows - rows.mean(dim=0, keepdim=True)
    cov = centred.T @ centred / (n - 1)
    lam = torch.linalg.eigvalsh(cov).clamp_min(0.0); total = float(lam.sum())
    if not total > 0.0 or not math.isfinite(total): return -math.inf
    p = lam / total; return float(-torch.special.xlogy(p, p).sum())
def old_sp(f_in, f_out, v):
    g_in = None
    if f_out.requires_grad and f_in.requires_grad:
        (g_in,) = torch.autograd.grad(f_out, f_in, grad_outputs=v, retain_graph=True, allow_unused=True)
    if g_in is None: g_in = torch.zeros_like(f_in)
    if g_in.shape == v.shape and torch.equal(g_in, v): return math.inf
    g_out4 = as_nchw(v); g_in4 = match_resolution(as_nchw(g_in.detach()), (g_out4.shape[2], g_out4.shape[3]))
    n, co = g_out4.shape[0] * g_out4.shape[2] * g_out4.shape[3], g_out4.shape[1]
    rows_in = g_in4.permute(0, 2, 3, 1).reshape(n, -1); rows_out = g_out4.permute(0, 2, 3, 1).reshape(n, co)
    return float(torch.linalg.matrix_norm((rows_in.T @ rows_out).double() / n, ord=2))
def use(old):
    az.feature_entropy = old_ent if old else new_ent
    ps.block_spectral_norm = old_sp if old else new_sp
idx = np.random.default_rng(0).choice(15625, 200, replace=False)[:int(sys.argv[2])]
score_architecture(int(idx[0]), ["az_nas"], "cifar100", batch_size=64)
t = {True: [], False: []}
for rep in range(2):
    for i in idx:
        for old in ((True, False) if rep == 0 else (False, True)):
            use(old); s = time.perf_counter(); score_architecture(int(i), ["az_nas"], "cifar100", batch_size=64)
            t[old].append(time.perf_counter() - s)
o, n = np.array(t[True]), np.array(t[False])
print(f"threads {sys.argv[1]}: before {1000*np.median(o):.0f} ms, after {1000*np.median(n):.0f} ms, "
      f"median per-call ratio {np.median(o/n):.3f}, total ratio {o.sum()/n.sum():.3f} ({len(o)} calls each)")
