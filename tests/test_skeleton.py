"""The 17-joint skeleton: tree, bones, flips and the maps to COCO and MPII."""

import numpy as np

from suite.data import skeleton as sk


def test_tree_is_rooted_and_topologically_ordered():
    assert sk.NUM_JOINTS == 17 and sk.NUM_BONES == 16
    assert sk.PARENTS[sk.ROOT] == -1
    assert all(0 <= parent < child for child, parent in enumerate(sk.PARENTS) if child != sk.ROOT)
    assert sk.JOINTS[:4] == ("root", "r_hip", "r_knee", "r_ankle")
    assert sk.JOINTS[-3:] == ("r_shoulder", "r_elbow", "r_wrist")


def test_bone_matrix_gives_child_minus_parent_and_kcs_diagonal():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3, 17))  # X in R^{3 x J}, paper eq. 9
    b = x @ sk.bone_matrix()  # eq. 6
    for k, (parent, child) in enumerate(sk.BONES):
        np.testing.assert_allclose(b[:, k], x[:, child] - x[:, parent], atol=1e-6)
    psi = b.T @ b  # eq. 7
    np.testing.assert_allclose(np.diag(psi), sk.bone_lengths(x.T) ** 2, rtol=1e-5)


def test_flip_pairs_swap_named_sides():
    for left, right in sk.FLIP_PAIRS:
        names = {sk.JOINTS[left][:2], sk.JOINTS[right][:2]}
        assert names == {"l_", "r_"}
        assert sk.JOINTS[left][2:] == sk.JOINTS[right][2:]
    joints = np.random.default_rng(1).normal(size=(17, 3))
    twice = sk.flip_joints(sk.flip_joints(joints))
    np.testing.assert_array_equal(twice, joints)
    np.testing.assert_array_equal(
        sk.bone_lengths(sk.flip_joints(joints))[[0, 1, 2]], sk.bone_lengths(joints)[[3, 4, 5]]
    )


def test_coco_and_mpii_maps_join_same_named_joints():
    side = {"left": "l", "right": "r"}
    for h36m, coco in sk.H36M_TO_COCO.items():
        name = sk.COCO_JOINTS[coco]
        if name == "nose":
            assert sk.JOINTS[h36m] == "neck_nose"
        else:
            prefix, part = name.split("_")
            assert sk.JOINTS[h36m] == f"{side[prefix]}_{part}"
    for h36m, mpii in sk.H36M_TO_MPII.items():
        expected = {"root": "pelvis", "thorax": "upper_neck", "head": "head_top"}.get(
            sk.JOINTS[h36m], sk.JOINTS[h36m]
        )
        assert sk.MPII_JOINTS[mpii] == expected
    assert len(set(sk.H36M_TO_COCO.values())) == len(sk.H36M_TO_COCO)
    assert len(set(sk.H36M_TO_MPII.values())) == len(sk.H36M_TO_MPII)
