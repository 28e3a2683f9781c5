"""Fine-tuning the pretrained MobileNetV2 for Fashion-MNIST zero-shot retrieval in PyTorch, as simkit does it.

The network is rebuilt from the same weights simkit decodes from the nsfwjs package (its cache: model.json +
weights.bin, float32), cut at the same layer, and trained the same way: classes 0-4, P x K batches, shift +-2 px and
flip at 28 px then bilinear to 96 px, grey copied to 3 channels, flattened map -> dense (no bias) -> batch norm,
multi-similarity loss on L2-normalised embeddings, Adam with cosine decay to 0.05x, the neck alone for the first
epoch(s), then the network from a named layer on at a tenth of the rate with its batch-norm statistics frozen.
MAP@R among the 5,000 test images of classes 5-9 by cosine, of the neck's embedding and of the fine-tuned network's
own flattened map (the neck then only serves to train it). After each epoch the MAP@R of 1,000 held-out images of the
SEEN classes (the training classes' images after the first FM_TRAIN_IMAGES) is printed, and the epoch where it is best
is the one early stopping keeps; the unseen classes are printed for every epoch but choose nothing. Usage:
  /usr/bin/python3 bench/fashion_mnist_pretrained_reference.py CACHE_DIR [DATA_DIR]
Settings (environment): FM_TRAIN_IMAGES, FM_EPOCHS, FM_LR, FM_UNFREEZE, FM_HEAD_ONLY, FM_DIM, FM_BACKBONE_FACTOR
(the backbone's share of the rate, 0.1), FM_LOSS (ms: multi-similarity, or supcon, temperature FM_TAU 0.1), FM_THREADS;
the defaults are the first recipe measured in simkit (128-d, lr 3e-4, 5,000 images, from block 8), with FM_EPOCHS=3.
"""
import gzip
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

CACHE = sys.argv[1]
DATA = sys.argv[2] if len(sys.argv) > 2 else '/usr/share/datasets/fashion-mnist'
LAYER = 'block_10_project_BN'
SIZE = 96
TRAIN_IMAGES = int(os.environ.get('FM_TRAIN_IMAGES', 5000))
EPOCHS = int(os.environ.get('FM_EPOCHS', 3))
LR = float(os.environ.get('FM_LR', 3e-4))
UNFREEZE = os.environ.get('FM_UNFREEZE', 'block_8_expand')
HEAD_ONLY = int(os.environ.get('FM_HEAD_ONLY', 1))
BACKBONE_FACTOR = float(os.environ.get('FM_BACKBONE_FACTOR', 0.1))
LOSS = os.environ.get('FM_LOSS', 'ms')
TAU = float(os.environ.get('FM_TAU', 0.1))
P, K = 5, 16
EMBEDDING = int(os.environ.get('FM_DIM', 128))
torch.set_num_threads(int(os.environ.get('FM_THREADS', 2)))
torch.manual_seed(42)
rng = np.random.default_rng(42)


def read_idx(path):
    with gzip.open(path) as f:
        data = f.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], 'big') for i in range(dims)]
    return np.frombuffer(data, np.uint8, offset=4 + 4 * dims).reshape(shape)


def load_network():
    model = json.load(open(os.path.join(CACHE, 'model.json')))
    specs = model['weightsManifest'][0]['weights']
    raw = np.fromfile(os.path.join(CACHE, 'weights.bin'), np.float32)
    weights, offset = {}, 0
    for spec in specs:
        size = int(np.prod(spec['shape']))
        weights[spec['name']] = torch.tensor(raw[offset:offset + size].reshape(spec['shape']))
        offset += size
    layers = model['modelTopology']['model_config']['config']['layers']
    by_name = {layer['name']: layer for layer in layers}
    needed, stack = set(), [LAYER]
    while stack:
        name = stack.pop()
        if name not in needed:
            needed.add(name)
            stack.extend(edge[0] for node in by_name[name]['inbound_nodes'] for edge in node)
    return [layer for layer in layers if layer['name'] in needed], weights


class Network(torch.nn.Module):
    """Runs the Keras layer list (Conv2D, DepthwiseConv2D, BatchNormalization, ReLU, ZeroPadding2D, Add)."""

    def __init__(self, layers, weights):
        super().__init__()
        self.layers = layers
        self.params = torch.nn.ParameterDict()
        self.stats = {}
        for layer in layers:
            name = layer['name']
            for key, value in weights.items():
                if key.startswith(name + '/'):
                    field = key.split('/')[-1]
                    if field in ('moving_mean', 'moving_variance'):
                        self.register_buffer(f'{name}__{field}', value.clone())
                    else:
                        if field == 'kernel' and layer['class_name'] == 'Conv2D':
                            value = value.permute(3, 2, 0, 1)
                        if field == 'depthwise_kernel':
                            value = value.permute(2, 3, 0, 1).reshape(-1, 1, value.shape[0], value.shape[1])
                        self.params[f'{name}__{field}'] = torch.nn.Parameter(value.contiguous())
        self.order = [layer['name'] for layer in layers]

    def layer_params(self, name):
        return [p for key, p in self.params.items() if key.split('__')[0] == name]

    def forward(self, x):
        out = {}
        for layer in self.layers:
            cls, cfg, name = layer['class_name'], layer['config'], layer['name']
            inputs = [out[edge[0]] for node in layer['inbound_nodes'] for edge in node]
            if cls == 'InputLayer':
                y = x
            elif cls == 'ZeroPadding2D':
                (top, bottom), (left, right) = cfg['padding']
                y = F.pad(inputs[0], (left, right, top, bottom))
            elif cls in ('Conv2D', 'DepthwiseConv2D'):
                kernel = self.params[f'{name}__{"kernel" if cls == "Conv2D" else "depthwise_kernel"}']
                stride = cfg['strides'][0]
                y = inputs[0]
                if cfg['padding'] == 'same':
                    k = kernel.shape[-1]
                    total = max((math.ceil(y.shape[-1] / stride) - 1) * stride + k - y.shape[-1], 0)
                    y = F.pad(y, (total // 2, total - total // 2, total // 2, total - total // 2))
                bias = self.params[f'{name}__bias'] if cfg.get('use_bias') else None
                groups = y.shape[1] if cls == 'DepthwiseConv2D' else 1
                y = F.conv2d(y, kernel, bias, stride=stride, groups=groups)
            elif cls == 'BatchNormalization':
                y = F.batch_norm(inputs[0], getattr(self, f'{name}__moving_mean'), getattr(self, f'{name}__moving_variance'),
                                 self.params[f'{name}__gamma'], self.params[f'{name}__beta'], False, 0.0, cfg['epsilon'])
            elif cls == 'ReLU':
                y = F.relu(inputs[0]) if cfg.get('max_value') is None else inputs[0].clamp(0, cfg['max_value'])
            elif cls == 'Add':
                y = inputs[0] + inputs[1]
            else:
                raise ValueError(f'layer class {cls} is not supported here')
            out[name] = y
        return out[LAYER]


def to_rgb(images):
    """B x 28 x 28 uint8 -> B x 3 x 96 x 96 in [0, 1] (bilinear, half-pixel centres as tf.image.resizeBilinear)."""
    x = torch.tensor(images, dtype=torch.float32).unsqueeze(1) / 255
    return F.interpolate(x, size=(SIZE, SIZE), mode='bilinear', align_corners=False).repeat(1, 3, 1, 1)


def augment(images):
    out = np.zeros_like(images)
    for i, image in enumerate(images):
        dy, dx = rng.integers(-2, 3, 2)
        if rng.random() < 0.5:
            image = image[:, ::-1]
        shifted = np.roll(image, (dy, dx), (0, 1))
        if dy > 0: shifted[:dy] = 0
        if dy < 0: shifted[dy:] = 0
        if dx > 0: shifted[:, :dx] = 0
        if dx < 0: shifted[:, dx:] = 0
        out[i] = shifted
    return out


def multi_similarity(embeddings, labels, alpha=2.0, beta=50.0, base=0.5):
    sim = embeddings @ embeddings.t()
    same = labels[:, None] == labels[None, :]
    eye = torch.eye(len(labels), dtype=torch.bool)
    positive, negative = same & ~eye, ~same
    def masked_lse(values, mask):
        values = values.masked_fill(~mask, -1e9)
        zero = torch.zeros(len(labels), 1)
        return torch.logsumexp(torch.cat([values, zero], 1), 1)
    loss = masked_lse(-alpha * (sim - base), positive) / alpha + masked_lse(beta * (sim - base), negative) / beta
    return loss.mean()


def supcon(embeddings, labels, tau):
    logits = embeddings @ embeddings.t() / tau
    eye = torch.eye(len(labels), dtype=torch.bool)
    positive = (labels[:, None] == labels[None, :]) & ~eye
    log_prob = logits - torch.logsumexp(logits.masked_fill(eye, -1e9), 1, keepdim=True)
    return (-(log_prob * positive).sum(1) / positive.sum(1).clamp(min=1)).mean()


def map_at_r(vectors, labels):
    """MAP@R by cosine, each row against all others; R = the number of other rows of its class."""
    vectors = F.normalize(vectors, dim=1)
    sim = vectors @ vectors.t()
    sim.fill_diagonal_(-2)
    rs = (labels[:, None] == labels[None, :]).sum(1) - 1
    top = int(rs.max())
    order = sim.topk(top, dim=1).indices
    ranks = torch.arange(1, top + 1)
    hits = (labels[order] == labels[:, None]).float() * (ranks[None, :] <= rs[:, None]).float()
    precision = hits.cumsum(1) / ranks
    return float(((precision * hits).sum(1) / rs).mean())


def embed(fn, images):
    with torch.no_grad():
        return torch.cat([fn(to_rgb(images[i:i + 256])) for i in range(0, len(images), 256)])


def main():
    train_x, train_y = read_idx(f'{DATA}/train-images-idx3-ubyte.gz'), read_idx(f'{DATA}/train-labels-idx1-ubyte.gz')
    test_x, test_y = read_idx(f'{DATA}/t10k-images-idx3-ubyte.gz'), read_idx(f'{DATA}/t10k-labels-idx1-ubyte.gz')
    seen_all = np.nonzero(train_y < 5)[0]
    seen, held_out = seen_all[:TRAIN_IMAGES], seen_all[TRAIN_IMAGES:TRAIN_IMAGES + 1000]
    held_out_labels = torch.tensor(train_y[held_out].astype(np.int64))
    unseen = np.nonzero(test_y >= 5)[0]
    unseen_labels = torch.tensor(test_y[unseen].astype(np.int64))
    layers, weights = load_network()
    net = Network(layers, weights)
    started = time.time()
    frozen = map_at_r(embed(lambda x: net(x).flatten(1), test_x[unseen]), unseen_labels)
    print(f'frozen MobileNetV2 {LAYER} MAP@R {frozen:.4f} ({time.time() - started:.0f} s)', flush=True)

    with torch.no_grad():
        features = net(torch.zeros(1, 3, SIZE, SIZE)).flatten(1).shape[1]
    dense = torch.nn.Linear(features, EMBEDDING, bias=False)
    torch.nn.init.xavier_uniform_(dense.weight)
    bn = torch.nn.BatchNorm1d(EMBEDDING, momentum=0.1)
    neck = lambda x: bn(dense(net(x).flatten(1)))
    start = net.order.index(UNFREEZE)
    backbone = [p for name in net.order[start:] for p in net.layer_params(name)]
    neck_opt = torch.optim.Adam(list(dense.parameters()) + list(bn.parameters()), lr=LR)
    backbone_opt = torch.optim.Adam(backbone, lr=LR * BACKBONE_FACTOR)
    labels = train_y[seen]
    by_class = {c: seen[labels == c] for c in range(5)}
    steps_per_epoch = len(seen) // (P * K)
    total = steps_per_epoch * EPOCHS
    step = 0
    history = []
    started = time.time()
    for epoch in range(EPOCHS):
        unfrozen = epoch >= HEAD_ONLY
        for p in net.parameters():
            p.requires_grad_(False)
        for p in backbone:
            p.requires_grad_(unfrozen)
        bn.train()
        losses = []
        for _ in range(steps_per_epoch):
            lr = LR * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * step / total)))
            for group in neck_opt.param_groups: group['lr'] = lr
            for group in backbone_opt.param_groups: group['lr'] = lr * BACKBONE_FACTOR
            batch = np.concatenate([rng.choice(by_class[c], K, replace=False) for c in range(5)])
            x = to_rgb(augment(train_x[batch]))
            y = torch.tensor(train_y[batch].astype(np.int64))
            embeddings = F.normalize(neck(x), dim=1)
            loss = multi_similarity(embeddings, y) if LOSS == 'ms' else supcon(embeddings, y, TAU)
            neck_opt.zero_grad(); backbone_opt.zero_grad()
            loss.backward()
            params = [p for g in neck_opt.param_groups + backbone_opt.param_groups for p in g['params'] if p.grad is not None]
            torch.nn.utils.clip_grad_norm_(params, 5.0)
            neck_opt.step()
            if unfrozen: backbone_opt.step()
            losses.append(float(loss)); step += 1
        bn.eval()
        held_out_maps = embed(lambda x: net(x).flatten(1), train_x[held_out])
        unseen_maps = embed(lambda x: net(x).flatten(1), test_x[unseen])
        with torch.no_grad():
            row = {
                'seen held-out (neck)': map_at_r(bn(dense(held_out_maps)), held_out_labels),
                'seen held-out (map)': map_at_r(held_out_maps, held_out_labels),
                'unseen (neck)': map_at_r(bn(dense(unseen_maps)), unseen_labels),
                'unseen (map)': map_at_r(unseen_maps, unseen_labels),
            }
        history.append(row)
        print(f'epoch {epoch + 1} ({"unfrozen" if unfrozen else "head-only"}) loss {np.mean(losses):.4f} '
              + ' '.join(f'{key} {value:.4f}' for key, value in row.items()) + f' {time.time() - started:.0f} s', flush=True)
    for retrieval in ('neck', 'map'):
        best = max(range(EPOCHS), key=lambda e: history[e][f'seen held-out ({retrieval})'])
        print(f'retrieval by the {retrieval}: early stopping on the seen held-out picks epoch {best + 1}, unseen MAP@R '
              f'{history[best][f"unseen ({retrieval})"]:.4f} (frozen {frozen:.4f}); {len(seen)} images, '
              f'{time.time() - started:.0f} s')


main()
