"""The one training engine of the suite, which pre-training and fine-tuning both run on.

    process.py     torch.distributed from the job's environment, collectives, gradient averaging
    sampler.py     each epoch's order from (seed, epoch), dealt over processes, resumable mid-epoch
    schedules.py   optimiser settings and learning-rate schedules (no torch)
    optim.py       steppers: one optimiser per parameter group (backward, average, clip, step)
    checkpoint.py  atomic checkpoint files of named state, typed reads, the resuming run's identity
    state.py       seeds and every rank's RNG states
    log.py         tqdm bar, TensorBoard scalars and log.jsonl (rank 0)
    loop.py        `fit`: the loop over steps, with the NaN stop and the checkpoints

A stage (suite.pretrain.trainer, suite.finetune.trainer) gives `fit` an adapter: its model, its
steppers and its step. Nothing here imports a stage.
"""
