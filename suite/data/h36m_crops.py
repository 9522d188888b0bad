"""Human3.6M person crops for pre-training: Table 7's "H36M" source (paper appendix A, "Pre-train dataset").

The paper pre-trains on "Human3.6M" alone for Table 7 and says no more; the crops are those of its COCO
source (suite.data.coco, appendix A): each frame's person box grown to height:width = 4:3 about its
centre, cut out (zeros outside the frame) and resized undistorted to 256x192, in the same crops/ +
index.json layout, so suite.data.pretrain_data reads both alike.

Which frames: the RLE / PoseNet training file, annotations/Sample_trainmin_train_Human36M_protocol_2.json
(downstream-protocols.md §4.1), read by suite.data.h36m.read_rle, rather than H36M-Toolbox's
annot/h36m_train.pkl, because
- it is the protocol's training set of ~312K frames (every 5th video frame of S1, 5, 6, 7, 8), the one
  Table 7's 3D column fine-tunes on; the pickle holds every frame (~1.56M, near duplicates at 50 fps);
- its `bbox` is a person box in COCO's x, y, w, h, which coco.crop_box grows as it grows a COCO box;
  the pickle's `box` is H36M-Toolbox's fixed 2 m square about the pelvis, mostly background;
- it is JSON, not a pickle.
Only the protocol's training subjects are cropped (layouts.H36M_TRAIN_SUBJECTS), checked frame by frame
on the subject of the image actually read (its file name, s_XX_...): a training file that wrongly holds a
test subject's frame (S9, S11) has it left out and counted in the index's `skipped`, never cropped.
Every frame is cropped by default (the paper does not say it subsamples); `stride` keeps every
stride-th of the kept frames, in the file's order.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from tqdm import tqdm

from suite.data.coco import CROP_SIZE, crop_box, human_crop
from suite.data.h36m import FIX_RLE, read_rle
from suite.data.images import read_image, write_image
from suite.data.layouts import H36M_IMAGES, H36M_RLE_ANNOTATIONS, H36M_TEST_SUBJECTS, H36M_TRAIN_SUBJECTS
from suite.errors import DatasetError, SuiteError
from suite.io import atomic_write_bytes

SPLIT = "train"  # the RLE split cropped: H36M_RLE_ANNOTATIONS[SPLIT]


def write_h36m_crops(
    root: str | Path, out_dir: str | Path, stride: int = 1, subjects: tuple[int, ...] = H36M_TRAIN_SUBJECTS
) -> Path:
    """Write the crop of each kept training frame as out_dir/crops/<the frame's path under images/>, then
    index.json; returns the index's path.

    Every crop is written atomically, so one already present is whole and is kept (an interrupted run
    resumes); the index, written last and atomically, marks the set finished and records the source,
    the subjects, the stride, the frames left out and why, and per crop its frame, subject and boxes.
    """
    root, out_dir = Path(root), Path(out_dir)
    leaked = sorted(set(subjects) & set(H36M_TEST_SUBJECTS))
    if stride < 1 or leaked:
        why = f"{', '.join(f'S{s}' for s in leaked)} test subject(s)" if leaked else f"stride {stride}"
        raise SuiteError(
            f"Human3.6M crops asked with {why}",
            fix=f"crop the training subjects {list(H36M_TRAIN_SUBJECTS)} with a stride of 1 or more",
        )
    annotations = root / H36M_RLE_ANNOTATIONS[SPLIT]
    rle = read_rle(root, SPLIT)
    skipped = Counter(rle.skipped)
    kept = []
    for sample in rle.samples:
        if sample.subject not in subjects:
            skipped[f"subject S{sample.subject}, not a training subject"] += 1
        elif not (sample.box[2] > 0 and sample.box[3] > 0):  # also refuses NaN
            skipped["empty box"] += 1
        else:
            kept.append(sample)
    if not kept:
        raise DatasetError(
            f"no frame of the subjects {list(subjects)} with a person box among {len(rle.samples)}",
            annotations,
            FIX_RLE,
        )
    chosen = kept[::stride]
    if len(chosen) < len(kept):
        skipped[f"stride {stride}"] += len(kept) - len(chosen)
    images = root / H36M_IMAGES
    entries = []
    for sample in tqdm(chosen, desc="Human3.6M crops", unit="frame", disable=None):
        relative = sample.image.relative_to(images).as_posix()
        file = f"crops/{relative}"
        box = tuple(float(v) for v in sample.box)
        if not (out_dir / file).is_file():
            write_image(out_dir / file, human_crop(read_image(sample.image), box))
        entries.append(
            dict(
                file=file,
                image=relative,
                image_id=sample.image_id,
                subject=sample.subject,
                bbox=box,
                crop_box=crop_box(box),
            )
        )
    index = {
        "source": str(annotations),
        "subjects": list(subjects),
        "stride": stride,
        "crop_size": list(CROP_SIZE),
        "count": len(entries),
        "skipped": dict(skipped),
        "crops": entries,
    }
    path = out_dir / "index.json"
    atomic_write_bytes(path, json.dumps(index).encode())
    return path
