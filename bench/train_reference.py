"""The models and training step of bench/train.ts in PyTorch, on the same machine: samples/s.
Usage: train_reference.py <threads> <mlp-steps> <cnn-steps> <batch>
Prints one JSON line: {"torch": version, "mlp": samples/s, "cnn": samples/s}."""
import json
import sys
import time

import torch
import torch.nn.functional as F

threads, mlp_steps, cnn_steps, batch = (int(value) for value in sys.argv[1:5])
torch.set_num_threads(threads)
torch.manual_seed(0)


def mlp():
    return torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(784, 512), torch.nn.ReLU(), torch.nn.Linear(512, 128))


def cnn():
    return torch.nn.Sequential(
        torch.nn.Conv2d(1, 32, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(32, 64, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Flatten(), torch.nn.Linear(64 * 7 * 7, 128))


def samples_per_second(backbone, steps):
    head = torch.nn.Linear(128, 10)
    optimizer = torch.optim.Adam([*backbone.parameters(), *head.parameters()], 1e-3)
    x, y = torch.rand(batch, 1, 28, 28), torch.randint(0, 10, (batch,))

    def step():
        optimizer.zero_grad()
        loss = F.cross_entropy(head(F.normalize(backbone(x), dim=1)), y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_([*backbone.parameters(), *head.parameters()], 5.0)
        optimizer.step()
        return loss.item()

    step()
    started = time.perf_counter()
    for _ in range(steps):
        step()
    return steps * batch / (time.perf_counter() - started)


print(json.dumps({"torch": torch.__version__, "mlp": samples_per_second(mlp(), mlp_steps), "cnn": samples_per_second(cnn(), cnn_steps)}))
