# PyTorch (CPU, one thread) reference for bench/losses.ts: the same losses written from the same
# formulas, forward + backward at batch 256, dimension 512; prints "<case> <ms per step>" per case.
import sys, time, math, torch
import torch.nn.functional as F
torch.set_num_threads(1)
torch.manual_seed(0)
B, D, REPEATS = 256, 512, 5
unit = lambda x: F.normalize(x, dim=1, eps=1e-12)

def masks(y):
    same = (y[:, None] == y[None, :]).float()
    return same - torch.eye(len(y)), 1 - same

def dist(e, kind):
    cos = e @ e.T
    return 1 - cos if kind == 'cosine' else (2 - 2 * cos).clamp_min(0).add(1e-12).sqrt()

def mean_nonzero(v, m):
    a = ((v * m) > 1e-12).float() * m
    return (v * a).sum() / a.sum().clamp_min(1)

def head(C, target, s=30.0):
    W = torch.randn(C, D).div(math.sqrt(D)).requires_grad_()
    def f(x, y):
        cos = unit(x) @ unit(W).T
        onehot = F.one_hot(y, C).float()
        return F.cross_entropy(s * (onehot * target(cos) + (1 - onehot) * cos), y)
    return f, [W]

def arcface(m):
    def target(cos):
        theta = torch.acos(cos.clamp(-1 + 1e-7, 1 - 1e-7))
        return torch.where(theta + m > math.pi, cos - m * math.sin(m), torch.cos(theta + m))
    return target

def sphereface(m):
    def target(cos):
        mt = torch.acos(cos.clamp(-1 + 1e-7, 1 - 1e-7)) * m
        return torch.cos(mt.clamp_max(math.pi)) - (mt.clamp_min(math.pi) - math.pi) * (2 / math.pi)
    return target

def dense(C, loss):
    W = torch.randn(C, D).div(math.sqrt(D)).requires_grad_()
    b = torch.zeros(C, requires_grad=True)
    return (lambda x, y: loss(unit(x) @ W.T + b, F.one_hot(y, C).float())), [W, b]

def focal(z, t, gamma=2.0, alpha=0.25):
    p = torch.sigmoid(z)
    pt = t * p + (1 - t) * (1 - p)
    at = t * alpha + (1 - t) * (1 - alpha)
    return (at * (1 - pt) ** gamma * F.binary_cross_entropy_with_logits(z, t, reduction='none')).mean()

def contrastive(x, y):
    d = dist(unit(x), 'l2'); pos, neg = masks(y)
    return mean_nonzero(F.relu(d), pos) + mean_nonzero(F.relu(1 - d), neg)

def triplet(miner, m=0.05):
    def f(x, y):
        d = dist(unit(x), 'cosine'); pos, neg = masks(y)
        ap, an = d[:, :, None], d[:, None, :]
        valid = pos[:, :, None] * neg[:, None, :]
        dd = d.detach(); dap, dan = dd[:, :, None], dd[:, None, :]
        if miner == 'semi-hard': valid = valid * ((dan > dap) & (dan < dap + m)).float()
        if miner == 'batch-hard':
            j = (dd * pos - (1 - pos) * 1e9).argmax(1); k = (dd + (1 - neg) * 1e9).argmin(1)
            valid = valid * (F.one_hot(j, len(y)).float()[:, :, None] * F.one_hot(k, len(y)).float()[:, None, :])
        raw = F.relu(ap - an + m)
        active = valid * (raw.detach() > 1e-12).float()
        return (raw * active).sum() / active.sum().clamp_min(1)
    return f

def margin_loss(C):
    beta = torch.full((C,), 1.2, requires_grad=True)
    def f(x, y, alpha=0.2, cutoff=0.5):
        d = dist(unit(x), 'l2'); pos, neg = masks(y)
        c = d.detach().clamp(cutoff, 1.99)
        logw = (-(D - 2) * c.log() - ((D - 3) / 2) * (1 - c * c / 4).log()) * neg - (1 - neg) * 1e9
        w = (torch.softmax(logw, 1) * neg.sum(1, keepdim=True) * neg).detach()
        bb = beta[y][:, None]
        total = F.relu(d - bb + alpha) * pos + F.relu(bb - d + alpha) * w
        return total.sum() / (total.detach() > 1e-12).float().sum().clamp_min(1)
    return f, [beta]

def hinge(x, y, tau=0.5, m=0.1):
    d = dist(unit(x), 'cosine'); pos, neg = masks(y)
    mask = pos + neg
    return (F.relu(m - (pos - neg) * (tau - d)) * mask).sum() / mask.sum()

def nt_xent(x, y, tau=0.5):
    z = unit(x); n = len(z) // 2
    logits = z @ z.T / tau - torch.eye(2 * n) * 1e9
    twins = (torch.arange(2 * n) + n) % (2 * n)
    return F.cross_entropy(logits, twins)

def siamese(features, size, hidden=0):
    if hidden:
        w1 = torch.randn(size, hidden).div(math.sqrt(size)).requires_grad_(); b1 = torch.zeros(hidden, requires_grad=True)
        first = [w1, b1]
        lift = lambda v: F.relu(v @ w1 + b1)
        size = hidden
    else:
        first, lift = [], lambda v: v
    w = torch.randn(size, 1).div(math.sqrt(size)).requires_grad_(); b = torch.zeros(1, requires_grad=True)
    def f(x, y):
        e = unit(x); a, bb = e[:B // 2], e[B // 2:]
        t = (torch.arange(B // 2) % 2).float()[:, None]
        return F.binary_cross_entropy_with_logits(lift(features(a, bb)) @ w + b, t)
    return f, [*first, w, b]

def siamese_cosine(x, y):
    e = unit(x); a, b = e[:B // 2], e[B // 2:]
    return ((a * b).sum(1) - (torch.arange(B // 2) % 2).float()).pow(2).mean()


# Catalogue losses (PML 2.x's documented formulas, defaults as in simkit); x are raw rows, normalised
# by each loss's distance. Per-anchor sums over B×B masks, as simkit computes them.
def sims(x):
    z = unit(x); return z @ z.T

def lse(v, m, dim=1):
    return torch.logsumexp(v - (1 - m) * 1e9, dim=dim)

def lse1(v, m, dim=1):
    return torch.logsumexp(torch.cat([torch.zeros_like(v[:, :1]), v - (1 - m) * 1e9], dim), dim=dim)

def multi_similarity(x, y, a=2.0, b=50.0, base=0.5):
    S = sims(x); pos, neg = masks(y)
    return (lse1(-a * (S - base), pos) / a + lse1(b * (S - base), neg) / b).mean()

def supcon(x, y, tau=0.1):
    S = sims(x) / tau; pos, neg = masks(y); others = pos + neg
    logp = S - lse(S, others)[:, None]
    per = -(logp * pos).sum(1) / pos.sum(1).clamp_min(1)
    return per[pos.sum(1) > 0].mean()

def multi_supcon(x, y, tau=0.1, threshold=0.3):
    sets = F.one_hot(y, 64).float(); inter = sets @ sets.T
    J = inter / (sets.sum(1)[:, None] + sets.sum(1)[None, :] - inter)
    others = 1 - torch.eye(len(y)); pos = (J > threshold).float() * others
    S = sims(x) / tau
    logp = S - lse(S, others)[:, None]
    per = -(J * logp * pos).sum(1) / pos.sum(1).clamp_min(1)
    return per[per > 0].mean()

def nt_xent_labels(x, y, tau=0.07):
    S = sims(x) / tau; pos, neg = masks(y)
    denom = torch.logaddexp(S, lse(S, neg)[:, None])
    return ((denom - S) * pos).sum() / pos.sum()

def circle(x, y, m=0.4, g=80.0):
    S = sims(x); pos, neg = masks(y)
    lp = -g * F.relu(1 + m - S.detach()) * (S - (1 - m)); ln = g * F.relu(S.detach() + m) * (S - m)
    return F.softplus(lse(lp, pos) + lse(ln, neg)).mean()

def nca(x, y, scale=1.0):
    z = unit(x); d = (2 - 2 * z @ z.T).clamp_min(0); pos, neg = masks(y)
    logits = -d * scale
    return (lse(logits, pos + neg) - lse(logits, pos)).mean()

def proxies(C, k=1):
    return torch.randn(C * k, D).div(math.sqrt(D)).requires_grad_()

def proxy_nca(C):
    P = proxies(C)
    def f(x, y):
        d = (2 - 2 * unit(x) @ unit(P).T).clamp_min(0)
        return F.cross_entropy(-d, y)
    return f, [P]

def proxy_anchor(C, m=0.1, a=32.0):
    P = proxies(C)
    def f(x, y):
        S = unit(x) @ unit(P).T; onehot = F.one_hot(y, C).float()
        with_pos = onehot.sum(0) > 0
        pos = torch.log1p((torch.exp(-a * (S - m)) * onehot).sum(0))
        neg = torch.log1p((torch.exp(a * (S + m)) * (1 - onehot)).sum(0))
        return pos[with_pos].mean() + neg.mean()
    return f, [P]

def normalized_softmax(C, tau=0.05):
    W = proxies(C)
    return (lambda x, y: F.cross_entropy(unit(x) @ unit(W).T / tau, y)), [W]

def n_pairs(x, y):
    S = x @ x.T; pos, neg = masks(y)
    return (lse(S, pos + neg) - lse(S, pos)).mean()

def instance(x, y, g=64.0):
    S = sims(x) * g; pos, neg = masks(y)
    return (lse(S, pos + neg) - lse(S, pos)).mean()

def lifted(x, y, mp=0.0, mn=1.0):
    z = unit(x); d = (2 - 2 * z @ z.T).clamp_min(0).add(1e-12).sqrt(); pos, neg = masks(y)
    return F.relu(lse(d - mp, pos) + lse(mn - d, neg)).mean()

def angular(x, y, degrees=40.0):
    t2 = math.tan(math.radians(degrees)) ** 2; S = sims(x); pos, neg = masks(y)
    E = torch.exp(4 * t2 * S)
    inner = torch.log(((neg * E) @ E.T).clamp_min(1e-30)) - 2 * (1 + t2) * S
    return (F.softplus(inner) * pos).sum() / pos.sum()

def tuplet_margin(x, y, degrees=5.73, s=64.0):
    S = sims(x); pos, neg = masks(y)
    shifted = torch.cos(torch.acos(S.clamp(-1 + 1e-7, 1 - 1e-7)) - math.radians(degrees))
    return (F.softplus(lse(s * S, neg)[:, None] - s * shifted) * pos).sum() / pos.sum()

def soft_triple(C, k=10, s=20.0, g=0.1, m=0.01):
    W = proxies(C, k)
    def f(x, y):
        S = (unit(x) @ unit(W).T).view(len(x), C, k)
        sc = (torch.softmax(S / g, 2) * S).sum(2)
        return F.cross_entropy(s * (sc - m * F.one_hot(y, C).float()), y)
    return f, [W]

def large_margin_softmax(C, m=4):
    W = proxies(C)
    def f(x, y):
        cos = unit(x) @ unit(W).T; norms = x.norm(dim=1, keepdim=True) * W.norm(dim=1)[None, :]
        mt = torch.acos(cos.clamp(-1 + 1e-7, 1 - 1e-7)) * m; k = torch.floor(mt / math.pi).detach()
        psi = (1 - 2 * (k % 2)) * torch.cos(mt) - 2 * k
        onehot = F.one_hot(y, C).float()
        return F.cross_entropy(norms * (onehot * psi + (1 - onehot) * cos), y)
    return f, [W]

def fast_ap(x, y, bins=10):
    z = unit(x); d = (2 - 2 * z @ z.T).clamp_min(0); pos, neg = masks(y)
    delta = 4.0 / bins; centres = torch.arange(bins + 1) * delta
    pulses = [F.relu(1 - (d - c).abs() / delta) for c in centres]
    hp = torch.stack([(p * pos).sum(1) for p in pulses], 1); hn = torch.stack([(p * neg).sum(1) for p in pulses], 1)
    Hp, H = hp.cumsum(1), (hp + hn).cumsum(1)
    ap = (hp * Hp / H.clamp_min(1e-8)).sum(1) / pos.sum(1).clamp_min(1)
    return 1 - ap[pos.sum(1) > 0].mean()

def centroid_triplet(x, y, m=0.05, C=64):
    z = unit(x); onehot = F.one_hot(y, C).float()
    centroids = (onehot.T @ z) / onehot.sum(0).clamp_min(1)[:, None]
    d = ((z * z).sum(1, keepdim=True) + (centroids * centroids).sum(1)[None, :] - 2 * z @ centroids.T).clamp_min(0)
    dp = (d * onehot).sum(1, keepdim=True)
    return mean_nonzero(F.relu(dp - d + m), 1 - onehot)

def cross_batch_memory(M=1024):
    memory = unit(torch.randn(M, D)); labels = torch.arange(M) % 64
    def f(x, y):
        return contrastive(torch.cat([x, memory]), torch.cat([y, labels]))
    return f, []

CASES = {
    'arcface-64': lambda: head(64, arcface(0.5)),
    'arcface-11014': lambda: head(11014, arcface(0.5)),
    'cosface': lambda: head(64, lambda cos: cos - 0.35),
    'sphereface': lambda: head(64, sphereface(1.35)),
    'focal': lambda: dense(64, focal),
    'bce': lambda: dense(64, lambda z, t: F.binary_cross_entropy_with_logits(z, t)),
    'contrastive': lambda: (contrastive, []),
    'triplet': lambda: (triplet(None), []),
    'triplet-semi-hard': lambda: (triplet('semi-hard'), []),
    'triplet-batch-hard': lambda: (triplet('batch-hard'), []),
    'margin': lambda: margin_loss(64),
    'hinge': lambda: (hinge, []),
    'nt-xent': lambda: (nt_xent, []),
    'siamese-concat': lambda: siamese(lambda a, b: torch.cat([a, b], 1), 2 * D, 64),
    'siamese-difference': lambda: siamese(lambda a, b: (a - b).abs(), D),
    'siamese-cosine': lambda: (siamese_cosine, []),
    'cross-entropy': lambda: dense(64, lambda z, t: -(torch.log_softmax(z, 1) * t).sum(1).mean()),
    'multi-similarity': lambda: (multi_similarity, []),
    'supcon': lambda: (supcon, []),
    'multi-supcon': lambda: (multi_supcon, []),
    'nt-xent-labels': lambda: (nt_xent_labels, []),
    'circle': lambda: (circle, []),
    'nca': lambda: (nca, []),
    'proxy-nca': lambda: proxy_nca(64),
    'proxy-anchor': lambda: proxy_anchor(64),
    'normalized-softmax': lambda: normalized_softmax(64),
    'n-pairs': lambda: (n_pairs, []),
    'instance': lambda: (instance, []),
    'lifted-structure': lambda: (lifted, []),
    'generalized-lifted-structure': lambda: (lifted, []),
    'angular': lambda: (angular, []),
    'tuplet-margin': lambda: (tuplet_margin, []),
    'soft-triple': lambda: soft_triple(64),
    'large-margin-softmax': lambda: large_margin_softmax(64),
    'fast-ap': lambda: (fast_ap, []),
    'centroid-triplet': lambda: (centroid_triplet, []),
    'cross-batch-memory': lambda: cross_batch_memory(),
}

for name in sys.argv[1:]:
    classes = 11014 if name == 'arcface-11014' else 64
    loss, params = CASES[name]()
    x = torch.randn(B, D, requires_grad=True)
    y = torch.arange(B) % classes
    def step():
        value = loss(x, y)
        grads = torch.autograd.grad(value, [x, *params])
        return value.item()
    step()
    start = time.perf_counter()
    for _ in range(REPEATS): step()
    print(name, (time.perf_counter() - start) * 1000 / REPEATS, flush=True)
