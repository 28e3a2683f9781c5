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
