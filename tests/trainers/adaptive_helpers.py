"""What the adaptive DPO and reward trainer tests share: tiny CPU training arguments, one loss-and-gradient
step. (Imported by name: pytest puts this folder on ``sys.path`` for its test modules.)"""

import copy

CPU_TRAINING_ARGS = {
    "per_device_train_batch_size": 4,
    "max_length": 64,
    "report_to": "none",
    "use_cpu": True,
    "seed": 0,
    "save_strategy": "no",
    "logging_steps": 1,
    "bf16": False,  # TRL turns bf16 on by default; CPU autocast to bf16 only slows the tests down
}


def loss_and_gradients(trainer, batch):
    """The trainer's loss on a copy of ``batch`` and the gradients it leaves, by parameter name."""
    model = trainer.model
    model.train()
    model.zero_grad()
    loss = trainer.compute_loss(model, trainer._prepare_inputs(copy.deepcopy(batch)))
    loss.backward()
    return loss.detach(), {name: p.grad.clone() for name, p in model.named_parameters() if p.grad is not None}
