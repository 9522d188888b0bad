"""What every trainer of the suite shares: checkpoint files, process state, and the loop over steps.

suite.pretrain.trainer (pre-training methods) and suite.finetune.trainer (downstream tasks) are built
on these, so both resume bit for bit, split batches over processes and stop on a non-finite loss alike.
"""
