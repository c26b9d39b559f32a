#!/usr/bin/python3
"""The PyTorch twin of a trainer run, for quality: peer.py's models, initialisation, losses and Adam
(lr 2e-4, betas 0.5/0.999), trained for --images images at --batch, in the trainer's data order when
--order gives it (little-endian uint32 indices, the trainer's epochPermutation epoch after epoch, as
scripts/peerQuality.sh writes it). Every --eval-every steps and at the end it writes --eval-count
samples from the generator in inference mode (batch-norm moving statistics, as tfjs's predict) to
OUT/samples-<images seen>.npy, float32 in [-1, 1], N×28×28, for `trainer evaluate --images`; and
OUT/final.npy with --final-count samples. One JSON line per written file on stdout.
  peerTrain.py --mnist IDX3 --out DIR [--arch dcgan] [--batch 32] [--images 64000] [--eval-every 250]
"""
import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import peer  # noqa: E402  (exits 3 when torch is missing)
import numpy as np  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402


def samples(g, count, seed):
    """count samples in inference mode, float32 in [-1, 1], N×28×28 (g in float32 or float64)."""
    dtype = next(g.parameters()).dtype
    g.eval()
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        out = torch.cat([g(torch.randn(min(500, count - s), peer.LATENT, generator=gen).to(dtype)) for s in range(0, count, 500)])
    g.train()
    return out.reshape(count, peer.IMAGE_SIDE, peer.IMAGE_SIDE).float().numpy()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--arch', choices=['mlp', 'dcgan'], default='dcgan')
    ap.add_argument('--batch', type=peer.positive, default=32)
    ap.add_argument('--images', type=peer.positive, default=64000)
    ap.add_argument('--eval-every', type=peer.positive, default=250, help='steps')
    ap.add_argument('--eval-count', type=peer.positive, default=2000)
    ap.add_argument('--final-count', type=peer.positive, default=10000)
    ap.add_argument('--mnist', required=True)
    ap.add_argument('--order')
    ap.add_argument('--threads', type=peer.positive, default=1)
    ap.add_argument('--seed', type=int, default=42)
    ap.add_argument('--out', required=True)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    os.makedirs(args.out, exist_ok=True)
    g, d = (peer.mlp if args.arch == 'mlp' else peer.dcgan)()
    peer.init(g, args.arch)
    peer.init(d, args.arch)
    g.train()
    d.train()
    images = peer.load_mnist(args.mnist)
    count = images.shape[0]
    steps = args.images // args.batch
    if args.order:
        order = torch.from_numpy(np.fromfile(args.order, dtype='<u4').astype(np.int64))
        if order.numel() < steps * args.batch or int(order.max()) >= count:
            raise SystemExit(f'peerTrain.py: {args.order} holds {order.numel()} indices, {steps * args.batch} needed, all below {count}')
    else:
        order = torch.cat([torch.randperm(count) for _ in range((steps * args.batch) // count + 1)])
    g_params, d_params = list(g.parameters()), list(d.parameters())
    g_opt = torch.optim.Adam(g_params, lr=2e-4, betas=(0.5, 0.999), eps=1e-8)
    d_opt = torch.optim.Adam(d_params, lr=2e-4, betas=(0.5, 0.999), eps=1e-8)
    bce = nn.BCEWithLogitsLoss()
    n = args.batch
    ones, zeros = torch.ones(n, 1), torch.zeros(n, 1)
    t0 = time.perf_counter()
    train_seconds = 0.0

    def write(name, arr, step, extra):
        path = os.path.join(args.out, name)
        np.save(path, arr)
        print(json.dumps({'file': path, 'step': step, 'images': step * n, 'trainSeconds': train_seconds, **extra}), flush=True)

    for k in range(steps):
        ts = time.perf_counter()
        real = images[order[k * n:(k + 1) * n]].float().div_(127.5).sub_(1)
        with torch.no_grad():
            fake = g(torch.randn(n, peer.LATENT))
        d_opt.zero_grad(set_to_none=True)
        d_loss = bce(d(real), ones) + bce(d(fake), zeros)
        d_loss.backward()
        d_opt.step()
        for p in d_params:
            p.requires_grad_(False)
        g_opt.zero_grad(set_to_none=True)
        g_loss = bce(d(g(torch.randn(n, peer.LATENT))), ones)
        g_loss.backward()
        for p in d_params:
            p.requires_grad_(True)
        g_opt.step()
        train_seconds += time.perf_counter() - ts
        if (k + 1) % args.eval_every == 0 or k + 1 == steps:
            write(f'samples-{(k + 1) * n}.npy', samples(g, args.eval_count, args.seed), k + 1, {'dLoss': d_loss.item(), 'gLoss': g_loss.item()})
    write('final.npy', samples(g, args.final_count, args.seed), steps, {'wallSeconds': time.perf_counter() - t0, 'torch': torch.__version__, 'threads': args.threads})


if __name__ == '__main__':
    main()
