#!/usr/bin/env python3
"""The seed's per-sample TPT loop in PyTorch at CLIP RN50 (or ViT-B/16, --arch) sizes, with random weights: the
reference that `tpt bench` is compared against.

Same work as the notebook's test_time_adapt_eval for one sample: AugmenterTPT views of a photo-sized image
(view 0 + n_aug RandomResizedCrop/flip views, no AugMix, as the baseline), base logits of view 0, one AdamW
step of the prompt context on the defaultTPT loss over all views, TPT logits of view 0 -- fp32 on the CPU with
full 77-token prompts for every class, exactly as the seed runs it.

  OMP_NUM_THREADS=2 /usr/bin/python3 scripts/bench-pytorch-reference.py --samples 2 --json

Needs Debian's python3-torch python3-torchvision libopenblas0-pthread (development only).
"""
import argparse
import json
import os
import resource
import sys
import time

import numpy as np
import torch
import torchvision.transforms as T
from PIL import Image

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "fixtures"))
import tiny_clip as ref  # noqa: E402  (the seed's model classes)

TEXT = dict(context_length=77, vocab_size=49408, transformer_width=512, transformer_heads=8, transformer_layers=12)
# OpenAI's shapes (clip/model.py build_model on the released checkpoints).
ARCHS = {
    "RN50": dict(embed_dim=1024, image_resolution=224, vision_layers=(3, 4, 6, 3), vision_width=64, vision_patch_size=None, **TEXT),
    "ViT-B/16": dict(embed_dim=512, image_resolution=224, vision_layers=12, vision_width=768, vision_patch_size=16, **TEXT),
}
MEAN, STD = (0.48145466, 0.4578275, 0.40821073), (0.26862954, 0.26130258, 0.27577711)


def select_confident_samples(logits, top):
    batch_entropy = -(logits.softmax(1) * logits.log_softmax(1)).sum(1)
    idx = torch.argsort(batch_entropy, descending=False)[: int(batch_entropy.size()[0] * top)]
    return logits[idx]


def avg_entropy(outputs):
    logits = outputs - outputs.logsumexp(dim=-1, keepdim=True)
    avg_logits = logits.logsumexp(dim=0) - np.log(logits.shape[0])
    avg_logits = torch.clamp(avg_logits, min=torch.finfo(avg_logits.dtype).min)
    return -(avg_logits * torch.exp(avg_logits)).sum(dim=-1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--arch", choices=sorted(ARCHS), default="RN50")
    ap.add_argument("--samples", type=int, default=2)
    ap.add_argument("--views", type=int, default=64)
    ap.add_argument("--classes", type=int, default=200)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    clip = ref.CLIP(**ARCHS[args.arch]).float().eval()
    names = ref.imagenet_a_classnames()[: args.classes]
    model = ref.ClipTestTimeTuning(clip, names, n_ctx=4, ctx_init=None)
    optimizer = torch.optim.AdamW(model.prompt_learner.parameters(), 5e-3)
    optim_state = optimizer.state_dict()

    base = T.Compose([T.Resize(224, interpolation=T.InterpolationMode.BICUBIC), T.CenterCrop(224), T.PILToTensor()])
    pre = T.Compose([T.RandomResizedCrop(224), T.RandomHorizontalFlip(), T.PILToTensor()])
    norm = T.Normalize(MEAN, STD)
    rng = np.random.default_rng(0)

    times = {"preprocess": 0.0, "base": 0.0, "tune": 0.0, "evaluate": 0.0}
    t_all = time.perf_counter()
    for _ in range(args.samples):
        t0 = time.perf_counter()
        img = Image.fromarray(rng.integers(0, 256, (375, 500, 3), dtype=np.uint8))
        views = [norm(base(img).float() / 255)] + [norm(pre(img).float() / 255) for _ in range(args.views - 1)]
        images = torch.stack(views)
        t1 = time.perf_counter()
        model.reset()
        optimizer.load_state_dict(optim_state)
        with torch.no_grad():
            output_base = model(images[:1])
        t2 = time.perf_counter()
        output = model(images)
        loss = avg_entropy(select_confident_samples(output, 0.1))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        t3 = time.perf_counter()
        with torch.no_grad():
            output_tpt = model(images[:1])
        t4 = time.perf_counter()
        times["preprocess"] += t1 - t0
        times["base"] += t2 - t1
        times["tune"] += t3 - t2
        times["evaluate"] += t4 - t3
        del output_base, output_tpt
    wall = time.perf_counter() - t_all
    result = {
        "arch": args.arch,
        "seconds_per_sample": wall / args.samples,
        "breakdown": {k: v / args.samples for k, v in times.items()},
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "threads": args.threads,
        "torch": torch.__version__,
        "views": args.views,
        "classes": args.classes,
        "samples": args.samples,
    }
    print(json.dumps(result) if args.json else json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
