"""The networks and steps of bench/train.ts and bench/profile.ts in PyTorch, on the same machine.

Usage:
  train_reference.py --threads N [--runs R] train NETWORK:BATCH:STEPS ...   training samples/s
  train_reference.py --threads N [--runs R] embed NETWORK:BATCH:BATCHES ... embedding samples/s (eval, torch.no_grad)
  train_reference.py --threads N sgemm M:K:N ...                 torch.mm float32 GFLOP/s
--precision bf16 runs train's and embed's forward passes (and the loss) under torch.autocast's CPU
bfloat16 (convolutions and matmuls in bf16, weights and optimiser in float32); default float32.
NETWORK is mlp, cnn or resnet (bench/networks.ts builds the same ones in TensorFlow.js).
Prints one JSON line: {"torch": version, "threads": N, "results": {...}}; for train and embed each
network's entry holds the samples/s of each of R timed runs back to back (default 1) and their mean, and its
trainable parameter count, which bench/train.ts compares with its own.
"""
import argparse
import json
import time

import torch
import torch.nn.functional as F

EMBEDDING_DIM = 128
NUM_CLASSES = 10
# The ResNet's stage widths: ResNet-18 at half its published widths (bench/networks.ts RESNET_WIDTHS).
RESNET_WIDTHS = (32, 64, 128, 256)
# Keras' batch-normalisation defaults (momentum 0.9 of the running mean is PyTorch's 0.1; epsilon 1e-3).
BN = {"eps": 1e-3, "momentum": 0.1}


def mlp():
    return torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(784, 512), torch.nn.ReLU(), torch.nn.Linear(512, EMBEDDING_DIM))


def cnn():
    return torch.nn.Sequential(
        torch.nn.Conv2d(1, 32, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(32, 64, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Flatten(), torch.nn.Linear(64 * 7 * 7, EMBEDDING_DIM))


def conv_bn(inputs, outputs, kernel, stride):
    return torch.nn.Sequential(
        torch.nn.Conv2d(inputs, outputs, kernel, stride=stride, padding=kernel // 2, bias=False),
        torch.nn.BatchNorm2d(outputs, **BN))


class BasicBlock(torch.nn.Module):
    """Two 3×3 conv-BNs added to the input (a 1×1 conv-BN projection where stride or width change), then ReLU."""

    def __init__(self, inputs, width, stride):
        super().__init__()
        self.first = conv_bn(inputs, width, 3, stride)
        self.second = conv_bn(width, width, 3, 1)
        self.shortcut = conv_bn(inputs, width, 1, stride) if stride != 1 or inputs != width else torch.nn.Identity()

    def forward(self, x):
        return F.relu(self.shortcut(x) + self.second(F.relu(self.first(x))))


def resnet():
    """ResNet-18's layout (residual-cnn style 'resnet', blocks [2, 2, 2, 2]) at RESNET_WIDTHS, 64×64×3 input."""
    layers = [conv_bn(3, RESNET_WIDTHS[0], 7, 2), torch.nn.ReLU(), torch.nn.MaxPool2d(3, 2, padding=1)]
    inputs = RESNET_WIDTHS[0]
    for stage, width in enumerate(RESNET_WIDTHS):
        for block in range(2):
            layers.append(BasicBlock(inputs, width, 2 if stage > 0 and block == 0 else 1))
            inputs = width
    layers += [torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(inputs, EMBEDDING_DIM)]
    return torch.nn.Sequential(*layers)


NETWORKS = {"mlp": (mlp, (1, 28, 28)), "cnn": (cnn, (1, 28, 28)), "resnet": (resnet, (3, 64, 64))}


def parameters(model):
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def autocast(precision):
    return torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16")


def timed_runs(work, count, runs):
    """Samples/s of each of `runs` timed runs of `count` samples of `work`, back to back, and their mean."""
    rates = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        rates.append(count / (time.perf_counter() - started))
    return {"runs": rates, "samples_per_second": sum(rates) / len(rates)}


def train(network, batch, steps, runs, precision):
    """Samples/s of `runs` timed runs of `steps` training steps after one untimed step: the step of simkit's loop
    (L2-normalised embedding, dense softmax head, cross-entropy, Adam, global-norm clipping at 5)."""
    build, shape = NETWORKS[network]
    backbone = build()
    head = torch.nn.Linear(EMBEDDING_DIM, NUM_CLASSES)
    variables = [*backbone.parameters(), *head.parameters()]
    optimizer = torch.optim.Adam(variables, 1e-3)
    x, y = torch.rand(batch, *shape), torch.randint(0, NUM_CLASSES, (batch,))

    def step():
        optimizer.zero_grad()
        with autocast(precision):
            loss = F.cross_entropy(head(F.normalize(backbone(x), dim=1)), y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(variables, 5.0)
        optimizer.step()
        return loss.item()

    step()

    def steps_run():
        for _ in range(steps):
            step()

    return {**timed_runs(steps_run, steps * batch, runs), "parameters": parameters(backbone)}


def embed(network, batch, batches, runs, precision):
    """Samples/s of `runs` timed runs of L2-normalised embeddings in eval mode under torch.no_grad(), after one
    untimed batch."""
    build, shape = NETWORKS[network]
    model = build().eval()
    x = torch.rand(batch, *shape)
    with torch.no_grad(), autocast(precision):
        F.normalize(model(x), dim=1)

        def batches_run():
            for _ in range(batches):
                F.normalize(model(x), dim=1)

        return {**timed_runs(batches_run, batches * batch, runs), "parameters": parameters(model)}


def sgemm(m, k, n, budget_seconds=0.5):
    """GFLOP/s of torch.mm on float32 m×k · k×n, repeated for about `budget_seconds` after one untimed call."""
    a, b, c = torch.rand(m, k), torch.rand(k, n), torch.empty(m, n)
    torch.mm(a, b, out=c)
    repeats, started = 0, time.perf_counter()
    while repeats < 3 or time.perf_counter() - started < budget_seconds:
        torch.mm(a, b, out=c)
        repeats += 1
    return 2 * m * k * n * repeats / (time.perf_counter() - started) / 1e9


def spec(text, fields):
    parts = text.split(":")
    if len(parts) != len(fields):
        raise SystemExit(f"train_reference.py: {text!r}: expected {':'.join(fields)}")
    return parts


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, required=True)
    parser.add_argument("--precision", choices=["f32", "bf16"], default="f32")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("mode", choices=["train", "embed", "sgemm"])
    parser.add_argument("specs", nargs="+")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    results = {}
    for text in args.specs:
        if args.mode == "sgemm":
            m, k, n = (int(v) for v in spec(text, ["M", "K", "N"]))
            results[text] = sgemm(m, k, n)
            continue
        network, batch, count = spec(text, ["NETWORK", "BATCH", "STEPS" if args.mode == "train" else "BATCHES"])
        if network not in NETWORKS:
            raise SystemExit(f"train_reference.py: unknown network {network!r}: choose {', '.join(NETWORKS)}")
        results[network] = (train if args.mode == "train" else embed)(
            network, int(batch), int(count), args.runs, args.precision
        )
    print(json.dumps({"torch": torch.__version__, "threads": args.threads, "precision": args.precision, "results": results}))


main()
