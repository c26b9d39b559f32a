#!/usr/bin/python3
"""The PyTorch peer of `npm run bench:peer`: the trainer's two GANs (src/shared/gan/archs.ts) trained
the way a worker trains them, on one thread, timed.

One step is what trainStep does on one rank: the discriminator phase (G forward on its own noise, D on
the real and the fake batch, BCE on logits, gradients for D only), then the generator phase against the
updated D (non-saturating BCE, gradients for G only). In each phase the gradients and both models'
batch-norm moving statistics are copied out into one flat float32 host buffer and back, as an
all-reduce needs (the trainer's reduce buffer has the same layout), then Adam (the DCGAN paper's
lr 2e-4, betas 0.5/0.999, eps 1e-8: the same arithmetic per step as the trainer's defaults) steps. The losses are read every step, as the trainer
reads them to report them.

  peer.py --check                      torch version and the BLAS library it loaded, as JSON
  peer.py --shapes --arch A            parameter names and shapes in tfjs layout, as JSON
  peer.py --arch A [--batch 64] [--steps N] [--warmup W] [--mnist IDX3] [--device cuda]   one JSON line with img/s

--device cuda (scripts/gpu-check.sh): the models, batches and optimizer on the GPU; the reduce buffer stays
in host memory, as the trainer reads its gradients back.

Exit status 3 when torch cannot be imported (the caller names the packages to install).
"""
import argparse
import json
import os
import sys
import time
from collections import OrderedDict

try:
    import torch
    from torch import nn
except ImportError as err:
    print(f'peer.py: cannot import torch ({err})', file=sys.stderr)
    sys.exit(3)

LATENT = 100
IMAGE_SIDE = 28
IMAGE_SIZE = IMAGE_SIDE * IMAGE_SIDE
LEAKY = 0.2
# PyTorch's momentum is the weight of the batch statistic: tfjs's 0.9 the other way round.
BN = dict(eps=1e-5, momentum=0.1)


class Reshape(nn.Module):
    def __init__(self, *shape):
        super().__init__()
        self.shape = shape

    def forward(self, x):
        return x.reshape(x.shape[0], *self.shape)


def mlp():
    g = nn.Sequential(OrderedDict([
        ('g_dense1', nn.Linear(LATENT, 256)), ('g_dense1_act', nn.LeakyReLU(LEAKY)),
        ('g_dense2', nn.Linear(256, 512)), ('g_dense2_act', nn.LeakyReLU(LEAKY)),
        ('g_out', nn.Linear(512, IMAGE_SIZE)), ('g_out_act', nn.Tanh()),
    ]))
    d = nn.Sequential(OrderedDict([
        ('d_dense1', nn.Linear(IMAGE_SIZE, 512)), ('d_dense1_act', nn.LeakyReLU(LEAKY)),
        ('d_dense2', nn.Linear(512, 256)), ('d_dense2_act', nn.LeakyReLU(LEAKY)),
        ('d_logit', nn.Linear(256, 1)),
    ]))
    return g, d


def dcgan():
    # 'same' padding of a 4×4 kernel at stride 2 is one pixel on each side: 7→14→28 and 28→14→7;
    # of a 3×3 kernel at stride 1 too: 7→7.
    g = nn.Sequential(OrderedDict([
        ('g_project', nn.Linear(LATENT, 7 * 7 * 128, bias=False)),
        ('g_reshape', Reshape(128, 7, 7)),
        ('g_bn1', nn.BatchNorm2d(128, **BN)), ('g_relu1', nn.ReLU()),
        ('g_conv1', nn.Conv2d(128, 128, 3, stride=1, padding=1, bias=False)),
        ('g_bn2', nn.BatchNorm2d(128, **BN)), ('g_relu2', nn.ReLU()),
        ('g_deconv1', nn.ConvTranspose2d(128, 64, 4, stride=2, padding=1, bias=False)),
        ('g_bn3', nn.BatchNorm2d(64, **BN)), ('g_relu3', nn.ReLU()),
        ('g_deconv2', nn.ConvTranspose2d(64, 1, 4, stride=2, padding=1, bias=True)),
        ('g_tanh', nn.Tanh()),
        ('g_flat', Reshape(IMAGE_SIZE)),
    ]))
    d = nn.Sequential(OrderedDict([
        ('d_image', Reshape(1, IMAGE_SIDE, IMAGE_SIDE)),
        ('d_conv1', nn.Conv2d(1, 64, 4, stride=2, padding=1)), ('d_lrelu1', nn.LeakyReLU(LEAKY)),
        ('d_conv2', nn.Conv2d(64, 128, 4, stride=2, padding=1)), ('d_lrelu2', nn.LeakyReLU(LEAKY)),
        ('d_flat', Reshape(7 * 7 * 128)),
        ('d_logit', nn.Linear(7 * 7 * 128, 1)),
    ]))
    return g, d


def init(model, arch):
    """Glorot uniform kernels (MLP) or N(0, 0.02) (DCGAN), zero biases: as the trainer starts."""
    for m in model.modules():
        if isinstance(m, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)):
            if arch == 'dcgan':
                nn.init.normal_(m.weight, 0.0, 0.02)
            else:
                nn.init.xavier_uniform_(m.weight)
            if m.bias is not None:
                nn.init.zeros_(m.bias)


def tfjs_shapes(model):
    """Parameters as tfjs lists a model's weights: trainable ones layer by layer, then the
    batch-norm moving statistics; names and shapes in tfjs's layout."""
    trainable, state = [], []
    for name, m in model.named_children():
        if isinstance(m, nn.Linear):
            trainable.append((f'{name}/kernel', [m.in_features, m.out_features]))
        elif isinstance(m, nn.Conv2d):
            o, i, kh, kw = m.weight.shape
            trainable.append((f'{name}/kernel', [kh, kw, i, o]))
        elif isinstance(m, nn.ConvTranspose2d):
            i, o, kh, kw = m.weight.shape
            trainable.append((f'{name}/kernel', [kh, kw, o, i]))
        elif isinstance(m, nn.BatchNorm2d):
            trainable += [(f'{name}/gamma', list(m.weight.shape)), (f'{name}/beta', list(m.bias.shape))]
            state += [(f'{name}/moving_mean', list(m.running_mean.shape)), (f'{name}/moving_variance', list(m.running_var.shape))]
            continue
        else:
            if list(m.parameters()):
                raise ValueError(f'{name}: no tfjs layout known for {type(m).__name__}')
            continue
        if m.bias is not None:
            trainable.append((f'{name}/bias', list(m.bias.shape)))
    return [{'name': n, 'shape': s, 'trainable': True} for n, s in trainable] + [{'name': n, 'shape': s, 'trainable': False} for n, s in state]


def blas_libraries():
    """The BLAS libraries this process has mapped (after a matrix product loaded them)."""
    with open('/proc/self/maps') as f:
        return sorted({line.split()[-1] for line in f if 'blas' in os.path.basename(line.split()[-1])})


def blas_info():
    a = torch.ones(64, 64)
    _ = a @ a
    libs = blas_libraries()
    # Debian's reference BLAS lives in .../blas/, OpenBLAS in .../openblas-*/ (update-alternatives picks
    # one); a wheel with MKL built in maps neither.
    reference = any(os.path.basename(os.path.dirname(p)) == 'blas' for p in libs)
    return {'torch': torch.__version__, 'blas': libs, 'referenceBlas': reference}


def load_mnist(path):
    with open(path, 'rb') as f:
        raw = f.read()
    magic, count, rows, cols = (int.from_bytes(raw[i:i + 4], 'big') for i in range(0, 16, 4))
    if magic != 0x803 or rows != IMAGE_SIDE or cols != IMAGE_SIDE or len(raw) != 16 + count * IMAGE_SIZE:
        raise SystemExit(f'peer.py: {path} is not an IDX3 file of 28×28 images')
    return torch.frombuffer(bytearray(raw[16:]), dtype=torch.uint8).reshape(count, IMAGE_SIZE)


class ReduceBuffer:
    """One flat float32 host buffer per phase: the model's gradients, then every moving statistic."""

    def __init__(self, params, stats):
        self.params, self.stats = params, stats
        self.buf = torch.empty(sum(p.numel() for p in params) + sum(s.numel() for s in stats), dtype=torch.float32,
                               pin_memory=params[0].is_cuda)

    def round_trip(self):
        o = 0
        for t in [p.grad for p in self.params] + self.stats:
            self.buf[o:o + t.numel()].copy_(t.reshape(-1))
            o += t.numel()
        # The all-reduce would average here; one rank's average is its own buffer.
        o = 0
        for t in [p.grad for p in self.params] + self.stats:
            t.copy_(self.buf[o:o + t.numel()].view_as(t))
            o += t.numel()


def bench(args):
    torch.set_num_threads(1)
    torch.set_num_interop_threads(1)
    torch.manual_seed(42)
    g, d = (mlp if args.arch == 'mlp' else dcgan)()
    init(g, args.arch)
    init(d, args.arch)
    dev = torch.device(args.device)
    g.to(dev)
    d.to(dev)
    g.train()
    d.train()
    stats = [b for m in (g, d) for n, b in m.named_buffers() if n.endswith(('running_mean', 'running_var'))]
    g_params, d_params = list(g.parameters()), list(d.parameters())
    d_buf, g_buf = ReduceBuffer(d_params, stats), ReduceBuffer(g_params, stats)
    g_opt = torch.optim.Adam(g_params, lr=2e-4, betas=(0.5, 0.999), eps=1e-8)
    d_opt = torch.optim.Adam(d_params, lr=2e-4, betas=(0.5, 0.999), eps=1e-8)
    bce = nn.BCEWithLogitsLoss()
    n = args.batch
    ones, zeros = torch.ones(n, 1, device=dev), torch.zeros(n, 1, device=dev)
    images = load_mnist(args.mnist) if args.mnist else None
    order = torch.randperm(images.shape[0]) if images is not None else None

    def step(k):
        if images is not None:
            start = (k * n) % (images.shape[0] - n + 1)
            real = images[order[start:start + n]].to(dev).float().div_(127.5).sub_(1)
        else:
            real = torch.rand(n, IMAGE_SIZE, device=dev).mul_(2).sub_(1)
        # Discriminator phase: G's output is an input here, nothing flows back into G.
        with torch.no_grad():
            fake = g(torch.randn(n, LATENT, device=dev))
        d_opt.zero_grad(set_to_none=True)
        d_loss = bce(d(real), ones) + bce(d(fake), zeros)
        d_loss.backward()
        d_buf.round_trip()
        d_opt.step()
        # Generator phase against the updated D; D's own weight gradients are not computed.
        for p in d_params:
            p.requires_grad_(False)
        g_opt.zero_grad(set_to_none=True)
        g_loss = bce(d(g(torch.randn(n, LATENT, device=dev))), ones)
        g_loss.backward()
        for p in d_params:
            p.requires_grad_(True)
        g_buf.round_trip()
        g_opt.step()
        return d_loss.item(), g_loss.item()

    for k in range(args.warmup):
        step(k)
    t0 = time.perf_counter()
    for k in range(args.warmup, args.warmup + args.steps):
        step(k)
    seconds = time.perf_counter() - t0
    return {
        'arch': args.arch, 'batch': n, 'steps': args.steps, 'warmup': args.warmup,
        'imagesPerSecond': args.steps * n / seconds, 'seconds': seconds,
        'device': args.device, 'threads': torch.get_num_threads(), 'data': 'mnist' if images is not None else 'random',
        **blas_info(),
    }


def positive(text):
    v = int(text)
    if v < 1:
        raise argparse.ArgumentTypeError(f'{text} is not a positive integer')
    return v


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--arch', choices=['mlp', 'dcgan'])
    p.add_argument('--batch', type=positive, default=64)
    p.add_argument('--steps', type=positive, default=50)
    p.add_argument('--warmup', type=int, default=5)
    p.add_argument('--mnist', help='an IDX3 image file (train-images-idx3-ubyte); default: random images in [-1, 1]')
    p.add_argument('--device', default='cpu', help='torch device: cpu (default) or cuda[:N]')
    p.add_argument('--check', action='store_true', help='print the torch version and BLAS libraries, and exit')
    p.add_argument('--shapes', action='store_true', help="print both models' parameters in tfjs layout, and exit")
    args = p.parse_args()
    if args.check:
        print(json.dumps(blas_info()))
        return
    if args.arch is None:
        p.error('--arch is required')
    if args.warmup < 0:
        p.error('--warmup must be 0 or more')
    if args.shapes:
        g, d = (mlp if args.arch == 'mlp' else dcgan)()
        print(json.dumps({'generator': tfjs_shapes(g), 'discriminator': tfjs_shapes(d)}))
        return
    print(json.dumps(bench(args)))


if __name__ == '__main__':
    main()
