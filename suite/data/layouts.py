"""Where each dataset keeps its files, relative to its root, in the layouts people have on disk.

The readers read these paths and SynthHuman writes them, so a synthetic tree and a real one are
interchangeable. Sources: shared/reference/downstream-protocols.md §7.
"""

from __future__ import annotations

# The folder of each dataset under a SynthHuman root (`data synth --out DIR`), and the keys of
# `[datasets]` in suite.toml.
DATASETS = ("coco", "mpii", "h36m", "pw3d", "lip", "generic", "smpl")
SYNTH_FOLDERS = {
    "coco": "coco",
    "mpii": "mpii",
    "h36m": "h36m",
    "pw3d": "3dpw",
    "lip": "lip",
    "generic": "generic",
    "smpl": "body_models",
}
# SynthHuman's generator (suite.data.synth.generate.VERSION): bump when its output changes, so old trees
# are rewritten and the runs that read them run again. Here so that planning imports no generator.
SYNTH_VERSION = 3

# COCO (HRNet / SimpleBaseline layout; mmpose's layout without `images/` is read too).
COCO_SPLITS = ("train2017", "val2017")
COCO_KEYPOINTS = "annotations/person_keypoints_{split}.json"
COCO_IMAGES = "images/{split}"
COCO_IMAGES_MMPOSE = "{split}"
COCO_DETECTIONS = "person_detection_results/COCO_val2017_detections_AP_H_56_person.json"

# MPII (HRNet / SimpleBaseline layout): the json list, the MATLAB ground truth with head boxes.
MPII_SPLITS = ("train", "valid")
MPII_ANNOTATIONS = "annot/{split}.json"
MPII_GT_VALID = "annot/gt_valid.mat"
MPII_IMAGES = "images"

# Human3.6M, RLE / PoseNet layout (3D) and multiview / H36M-Toolbox layout (2D JDR).
H36M_RLE_ANNOTATIONS = {
    "train": "annotations/Sample_trainmin_train_Human36M_protocol_2.json",
    "test": "annotations/Sample_64_test_Human36M_protocol_2.json",
}
H36M_MULTIVIEW_ANNOTATIONS = {"train": "annot/h36m_train.pkl", "validation": "annot/h36m_validation.pkl"}
H36M_IMAGES = "images"
H36M_TRAIN_SUBJECTS = (1, 5, 6, 7, 8)
H36M_TEST_SUBJECTS = (9, 11)


def h36m_sequence(subject: int, action: int, subaction: int, camera: int) -> str:
    """The folder name of one Human3.6M video, e.g. s_09_act_02_subact_01_ca_01."""
    return f"s_{subject:02d}_act_{action:02d}_subact_{subaction:02d}_ca_{camera:02d}"


def h36m_image(subject: int, action: int, subaction: int, camera: int, frame: int) -> str:
    """An image path relative to images/, frames 1-based as H36M-Toolbox writes them."""
    sequence = h36m_sequence(subject, action, subaction, camera)
    return f"{sequence}/{sequence}_{frame:06d}.jpg"


# 3DPW (official layout).
PW3D_SPLITS = ("train", "validation", "test")
PW3D_SEQUENCES = "sequenceFiles/{split}"
PW3D_IMAGES = "imageFiles"

# SMPL body models (SPIN / mmhuman3d layout).
SMPL_MODEL = "smpl/SMPL_{gender}.pkl"
SMPL_GENDERS = ("NEUTRAL", "MALE", "FEMALE")
SMPL_J_REGRESSOR_H36M = "J_regressor_h36m.npy"

# LIP (Self-Correction-Human-Parsing layout).
LIP_SPLITS = ("train", "val")
LIP_IMAGES = "{split}_images"
LIP_SEGMENTATIONS = "{split}_segmentations"
LIP_IDS = "{split}_id.txt"
LIP_CLASSES = (
    "Background",
    "Hat",
    "Hair",
    "Glove",
    "Sunglasses",
    "UpperClothes",
    "Dress",
    "Coat",
    "Socks",
    "Pants",
    "Jumpsuits",
    "Scarf",
    "Skirt",
    "Face",
    "Left-arm",
    "Right-arm",
    "Left-leg",
    "Right-leg",
    "Left-shoe",
    "Right-shoe",
)
LIP_IGNORE = 255
LIP_FLIP_PAIRS = ((14, 15), (16, 17), (18, 19))

# The generic image set standing in for ImageNet: torchvision ImageFolder layout.
GENERIC_SPLITS = ("train", "val")
GENERIC_IMAGES = "{split}"
