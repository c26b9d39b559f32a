#!/usr/bin/python3
"""PyTorch's side of a replay (scripts/peerReplay.ts wrote DIR): peer.py's twin of the trainer's model,
loaded with the trainer's initial weights, takes the same steps on the same real batches and noise as
peerTrain.py trains (D on the real and the fake batch, Adam; then G against the updated D, Adam).
Prints one JSON object: for step 1, each parameter's gradient (and each moving statistic after the
forward passes) against the trainer's (compare(): max and L2 relative errors), the generator's also
against the trainer's own updated discriminator (gradsGSameD: G's arithmetic apart from D's update);
every step's losses side by side; and the states after the last step against the trainer's.

  peerReplay.py DIR [--float64] [--workers W] [--steps N] [--eval-every K --out OUT [--eval-count 2000]]

--float64: PyTorch in double precision, as a reference for how far float32 rounding alone carries.
--steps N: only the first N of the recorded steps.
--workers W: PyTorch as W data-parallel workers of the same global batch (the trainer's split: worker r
the r-th of W equal slices, noise by position): G's batch norm normalises each slice by its own statistics
and the moving statistics become the mean of the slices' updates (as the trainer's all-reduce averages
them); the loss is the mean over the whole batch, as the average of W workers' gradients is. The trainer's
files are of one worker, so with W > 1 nothing is compared: the run is for its samples.
--eval-every K: every K steps and at the end, PyTorch's generator's samples (inference mode, as peerTrain.py
writes them) to OUT/pytorch-<images seen>.npy; for every generator state the trainer kept (g-<images>.f32,
and g.f32 at the end) its samples from the same noise (the state in a twin) to OUT/trainer-<images>.npy
(with one worker only: the trainer's files are of one).
Score them with `trainer evaluate --images`.
"""
import argparse
import copy
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import peer  # noqa: E402  (exits 3 when torch is missing)
from peerTrain import samples  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402

# Both generators' samples from one noise stream: the trainer's and PyTorch's generators are scored on the same latents.
SAMPLE_SEED = 42
ATTR = {'kernel': 'weight', 'bias': 'bias', 'gamma': 'weight', 'beta': 'bias', 'moving_mean': 'running_mean', 'moving_variance': 'running_var'}


def flat_permutation(arch, layer):
    """Dense kernels next to a reshape between NHWC (tfjs) and NCHW (PyTorch): the (h, w, c) side of the
    kernel as tfjs stores it, or None."""
    if arch != 'dcgan':
        return None
    return {'g_project': 'out', 'd_logit': 'in'}.get(layer)


def to_torch(arch, name, shape, a, module):
    layer, kind = name.split('/')
    a = a.reshape(shape)
    if kind != 'kernel':
        return a
    if isinstance(module, nn.Linear):
        side = flat_permutation(arch, layer)
        if side == 'out':  # [in, 7·7·128 (h, w, c)] → [in, (c, h, w)]
            a = a.reshape(shape[0], 7, 7, 128).transpose(0, 3, 1, 2).reshape(shape)
        elif side == 'in':  # [(h, w, c), out] → [(c, h, w), out]
            a = a.reshape(7, 7, 128, shape[1]).transpose(2, 0, 1, 3).reshape(shape)
        return a.T
    # Conv2d: [kh, kw, in, out] → [out, in, kh, kw]; ConvTranspose2d: [kh, kw, out, in] → [in, out, kh, kw].
    return a.transpose(3, 2, 0, 1)


def to_tfjs(arch, name, shape, t, module):
    """The inverse of to_torch: a PyTorch tensor in tfjs's layout, flat."""
    layer, kind = name.split('/')
    a = t.detach().double().numpy()
    if kind != 'kernel':
        return a.reshape(-1)
    if isinstance(module, nn.Linear):
        a = a.T
        side = flat_permutation(arch, layer)
        if side == 'out':
            a = a.reshape(shape[0], 128, 7, 7).transpose(0, 2, 3, 1)
        elif side == 'in':
            a = a.reshape(128, 7, 7, shape[1]).transpose(1, 2, 0, 3)
        return a.reshape(-1)
    return a.transpose(2, 3, 1, 0).reshape(-1)


class Twin:
    """One model with its tfjs layout: load a flat state, read gradients and the state back the same way."""

    def __init__(self, arch, model, layout):
        self.arch, self.model, self.layout = arch, model, layout
        self.modules = dict(model.named_children())

    def tensor(self, name):
        layer, kind = name.split('/')
        return getattr(self.modules[layer], ATTR[kind])

    def load(self, flat):
        o = 0
        with torch.no_grad():
            for p in self.layout:
                n = int(np.prod(p['shape']))
                t = self.tensor(p['name'])
                src = to_torch(self.arch, p['name'], p['shape'], flat[o:o + n], self.modules[p['name'].split('/')[0]])
                t.copy_(torch.from_numpy(np.ascontiguousarray(src)).to(t.dtype))
                o += n
        assert o == flat.size, f'{o} values in the layout, {flat.size} in the file'

    def flat(self, what):
        """Per parameter in tfjs order: ('grad') the trainable ones' gradients, then the moving statistics, as the
        trainer's reduce buffer; ('state') every value; ('stats') the moving statistics alone."""
        out = []
        for p in self.layout:
            if what == 'stats' and p['trainable']:
                continue
            t = self.tensor(p['name'])
            m = self.modules[p['name'].split('/')[0]]
            v = t.grad if (what == 'grad' and p['trainable']) else t
            out.append((p['name'], to_tfjs(self.arch, p['name'], p['shape'], v, m)))
        return out


def compare(ours, theirs):
    """Per named piece, against the trainer's (theirs): max |ours − theirs| / max |theirs|, and the relative L2
    error ‖ours − theirs‖ / ‖theirs‖. The first is what float32 rounding bounds; the second tolerates the few
    entries whose (Leaky)ReLU lands on the other side of its kink after rounding, each worth a whole term."""
    rows, o = {}, 0
    for name, a in ours:
        b = theirs[o:o + a.size].astype(np.float64)
        o += a.size
        rows[name] = {'max': float(np.abs(a - b).max() / max(np.abs(b).max(), 1e-30)),
                      'l2': float(np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-30))}
    assert o == theirs.size, f'{o} values compared, {theirs.size} in the trainer\'s buffer'
    return rows


def forward(g, z, workers):
    """g(z) in training mode as `workers` workers compute it: each slice of the batch through batch norm with its
    own statistics, from the same moving statistics; those then become the mean of the workers' updates."""
    if workers == 1:
        return g(z)
    bns = [m for m in g.modules() if isinstance(m, nn.BatchNorm2d)]
    before = [(m.running_mean, m.running_var) for m in bns]
    after = [(torch.zeros_like(m.running_mean), torch.zeros_like(m.running_var)) for m in bns]
    outs = []
    for part in z.chunk(workers):
        # Fresh buffers, not copies into the old ones: autograd holds the ones a forward pass used.
        for m, (mean, var) in zip(bns, before):
            m.running_mean, m.running_var = mean.clone(), var.clone()
        outs.append(g(part))
        with torch.no_grad():
            for m, (mean, var) in zip(bns, after):
                mean.add_(m.running_mean, alpha=1 / workers)
                var.add_(m.running_var, alpha=1 / workers)
    for m, (mean, var) in zip(bns, after):
        m.running_mean, m.running_var = mean, var
    return torch.cat(outs)


def same_d_gradients(arch, meta, g, d, z, ones, d1, trainer_grads):
    """Step 1's generator gradients against the trainer's own updated discriminator (a copy of D loaded
    with d1.f32), from G as it was before the phase (g, a copy): G's arithmetic apart from D's update."""
    g2, d2 = copy.deepcopy(g), copy.deepcopy(d)
    Twin(arch, d2, meta['discriminator']).load(d1)
    g2t = Twin(arch, g2, meta['generator'])
    for p in d2.parameters():
        p.requires_grad_(False)
    nn.BCEWithLogitsLoss()(d2(g2(z)), ones).backward()
    return compare(g2t.flat('grad'), trainer_grads)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('dir')
    ap.add_argument('--float64', action='store_true')
    ap.add_argument('--eval-every', type=peer.positive)
    ap.add_argument('--eval-count', type=peer.positive, default=2000)
    ap.add_argument('--out')
    ap.add_argument('--workers', type=peer.positive, default=1)
    ap.add_argument('--steps', type=peer.positive, help="the first STEPS of the trainer's steps (default: all)")
    args = ap.parse_args()
    if (args.eval_every is None) != (args.out is None):
        ap.error('--eval-every and --out go together')
    if args.workers > 1 and args.eval_every is None:
        ap.error('--workers > 1 compares nothing: give --eval-every and --out')
    torch.set_num_threads(1)
    dtype = torch.float64 if args.float64 else torch.float32
    d_ = lambda f, t=np.float32: np.fromfile(os.path.join(args.dir, f), dtype=t)  # noqa: E731
    meta = json.load(open(os.path.join(args.dir, 'meta.json')))
    arch, n, recorded = meta['arch'], meta['batch'], meta['steps']
    steps = min(args.steps or recorded, recorded)
    g, d = (peer.mlp if arch == 'mlp' else peer.dcgan)()
    g, d = g.to(dtype), d.to(dtype)
    gt, dt = Twin(arch, g, meta['generator']), Twin(arch, d, meta['discriminator'])
    gt.load(d_('g0.f32'))
    dt.load(d_('d0.f32'))
    g.train()
    d.train()
    images = torch.from_numpy(d_('images.u8', np.uint8).astype(np.float32)).reshape(recorded, n, peer.IMAGE_SIZE)
    zd = torch.from_numpy(d_('zd.f32')).reshape(recorded, n, peer.LATENT)
    zg = torch.from_numpy(d_('zg.f32')).reshape(recorded, n, peer.LATENT)
    trainer_losses = [json.loads(line) for line in open(os.path.join(args.dir, 'losses.jsonl'))]
    g_params, d_params = list(g.parameters()), list(d.parameters())
    g_opt = torch.optim.Adam(g_params, lr=2e-4, betas=(0.5, 0.999), eps=1e-8)
    d_opt = torch.optim.Adam(d_params, lr=2e-4, betas=(0.5, 0.999), eps=1e-8)
    bce = nn.BCEWithLogitsLoss()
    ones, zeros = torch.ones(n, 1, dtype=dtype), torch.zeros(n, 1, dtype=dtype)
    if args.out:
        os.makedirs(args.out, exist_ok=True)
    report = {'arch': arch, 'batch': n, 'workers': args.workers, 'steps': steps, 'trainerBackend': meta['backend'], 'dtype': str(dtype).replace('torch.', ''), 'losses': []}
    for k in range(steps):
        real = images[k].to(dtype).div(127.5).sub(1)
        with torch.no_grad():
            fake = forward(g, zd[k].to(dtype), args.workers)
        d_opt.zero_grad(set_to_none=True)
        d_loss = bce(d(real), ones) + bce(d(fake), zeros)
        d_loss.backward()
        if k == 0 and args.workers == 1:
            # D's reduce buffer: its gradients, then G's moving statistics after the phase's forward pass.
            report['gradsD'] = compare(dt.flat('grad') + gt.flat('stats'), d_('grads-d.f32'))
        d_opt.step()
        if k == 0:
            g_before = copy.deepcopy(g)
        for p in d_params:
            p.requires_grad_(False)
        g_opt.zero_grad(set_to_none=True)
        g_loss = bce(d(forward(g, zg[k].to(dtype), args.workers)), ones)
        g_loss.backward()
        for p in d_params:
            p.requires_grad_(True)
        if k == 0 and args.workers == 1:
            report['gradsG'] = compare(gt.flat('grad'), d_('grads-g.f32'))
            report['stateD1'] = compare(dt.flat('state'), d_('d1.f32'))
            report['gradsGSameD'] = same_d_gradients(arch, meta, g_before, d, zg[0].to(dtype), ones, d_('d1.f32'), d_('grads-g.f32'))
        g_opt.step()
        t = trainer_losses[k]
        report['losses'].append({'step': k + 1, 'dLoss': [d_loss.item(), t['dLoss']], 'gLoss': [g_loss.item(), t['gLoss']]})
        if args.eval_every and ((k + 1) % args.eval_every == 0 or k + 1 == steps):
            np.save(os.path.join(args.out, f'pytorch-{(k + 1) * n}.npy'), samples(g, args.eval_count, SAMPLE_SEED))
    if args.workers == 1 and steps == recorded:
        report['stateG'] = compare(gt.flat('state'), d_('g.f32'))
        report['stateD'] = compare(dt.flat('state'), d_('d.f32'))
    if args.eval_every and args.workers == 1:
        kept = {int(f[2:-4]): f for f in os.listdir(args.dir) if f.startswith('g-') and f.endswith('.f32')}
        kept[recorded * n] = 'g.f32'
        for images_seen, f in sorted(kept.items()):
            g_kept, _ = (peer.mlp if arch == 'mlp' else peer.dcgan)()
            Twin(arch, g_kept, meta['generator']).load(d_(f))
            np.save(os.path.join(args.out, f'trainer-{images_seen}.npy'), samples(g_kept.to(dtype), args.eval_count, SAMPLE_SEED))
    print(json.dumps(report))


if __name__ == '__main__':
    main()
