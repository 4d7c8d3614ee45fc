"""Adversarial losses: values and gradient signs on hand-computed logits, the WGAN-GP
penalty on interpolates, and the trainer honouring a loss's penalty."""

from __future__ import annotations

import math

import pytest
import torch

from gantk.contract.registry import get_registry
from gantk.contract.specs import LossSpec
from gantk.store import read_metadata
from gantk.training.config import make_config, parse_overrides
from gantk.training.trainer import Trainer, resolve_config

LOG2 = math.log(2.0)


def _loss(name: str) -> LossSpec:
    return get_registry().loss(name)


def _t(*values: float) -> torch.Tensor:
    return torch.tensor(values, requires_grad=True)


def _grads(fn, *tensors):
    value = fn(*tensors)
    value.backward()
    return value.item(), [t.grad.tolist() for t in tensors]


@pytest.mark.parametrize("name", ["nonsaturating", "minimax"])
def test_bce_discriminator_loss(name):
    # -log sigmoid(2) - log(1 - sigmoid(-1)) = softplus(-2) + softplus(-1)
    value, (g_real, g_fake) = _grads(_loss(name).d_loss, _t(2.0), _t(-1.0))
    assert value == pytest.approx(math.log1p(math.exp(-2)) + math.log1p(math.exp(-1)))
    assert g_real[0] < 0 < g_fake[0]  # descent raises real logits, lowers fake ones
    assert _loss(name).d_loss(torch.zeros(3), torch.zeros(3)).item() == pytest.approx(2 * LOG2)


def test_minimax_generator_saturates_where_nonsaturating_does_not():
    value, (grad,) = _grads(_loss("minimax").g_loss, _t(-1.0, 1.0))
    # log(1 - sigmoid(x)) averaged: -(softplus(-1) + softplus(1)) / 2
    assert value == pytest.approx(-(math.log1p(math.e ** -1) + math.log1p(math.e)) / 2)
    assert all(g < 0 for g in grad)  # descent raises D(G(z))
    assert _loss("minimax").g_loss(torch.zeros(1)).item() == pytest.approx(-LOG2)
    # a confidently rejected fake (logit -10): minimax's gradient vanishes, NS's does not
    _, (mm,) = _grads(_loss("minimax").g_loss, _t(-10.0))
    _, (ns,) = _grads(_loss("nonsaturating").g_loss, _t(-10.0))
    assert abs(mm[0]) < 1e-4 and ns[0] == pytest.approx(-1.0, abs=1e-4)


def test_lsgan():
    value, (g_real, g_fake) = _grads(_loss("lsgan").d_loss, _t(1.0, 3.0), _t(0.0, 2.0))
    assert value == pytest.approx(0.5 * (0 + 4) / 2 + 0.5 * (0 + 4) / 2)
    assert g_real == pytest.approx([0.0, 1.0]) and g_fake == pytest.approx([0.0, 1.0])
    value, (grad,) = _grads(_loss("lsgan").g_loss, _t(0.0, 2.0))
    assert value == pytest.approx(0.5)
    assert grad == pytest.approx([-0.5, 0.5])  # pulls fake outputs toward the real target 1


def test_hinge():
    value, (g_real, g_fake) = _grads(_loss("hinge").d_loss, _t(0.5, 2.0), _t(-2.0, 0.5))
    assert value == pytest.approx(0.5 / 2 + 1.5 / 2)
    assert g_real == pytest.approx([-0.5, 0.0])  # only inside the margin
    assert g_fake == pytest.approx([0.0, 0.5])
    value, (grad,) = _grads(_loss("hinge").g_loss, _t(-2.0, 0.5))
    assert value == pytest.approx(0.75) and grad == pytest.approx([-0.5, -0.5])


def test_wgan_gp_losses():
    spec = _loss("wgan-gp")
    assert spec.critic_steps == 5 and spec.penalty is not None
    value, (g_real, g_fake) = _grads(spec.d_loss, _t(1.0, 3.0), _t(0.0, 2.0))
    assert value == pytest.approx(1.0 - 2.0)
    assert g_real == pytest.approx([-0.5, -0.5]) and g_fake == pytest.approx([0.5, 0.5])
    value, (grad,) = _grads(spec.g_loss, _t(0.0, 2.0))
    assert value == pytest.approx(-1.0) and grad == pytest.approx([-0.5, -0.5])


class _Linear(torch.nn.Module):
    """D(x) = <w, x>: its input gradient is w everywhere, so the penalty is exact."""

    def __init__(self, value: float, shape=(1, 2, 2)):
        super().__init__()
        self.w = torch.nn.Parameter(torch.full(shape, value))

    def forward(self, x):
        return (x * self.w).flatten(1).sum(1)


def test_gradient_penalty_is_lambda_times_squared_norm_gap():
    penalty = _loss("wgan-gp").penalty
    real, fake = torch.randn(3, 1, 2, 2), torch.randn(3, 1, 2, 2)
    assert penalty(_Linear(0.5), real, fake).item() == pytest.approx(0.0, abs=1e-6)  # ||w||=1
    critic = _Linear(1.0)  # ||w|| = 2
    value = penalty(critic, real, fake)
    assert value.item() == pytest.approx(10.0)
    value.backward()  # create_graph: the penalty trains the critic, d/dw = 20 (2-1) w/2
    assert critic.w.grad == pytest.approx(torch.full((1, 2, 2), 10.0))


class _Square(torch.nn.Module):
    """D(x) = ||x||^2 / 2 per sample: its input gradient is x itself."""

    def forward(self, x):
        return 0.5 * (x**2).flatten(1).sum(1)


def test_gradient_penalty_uses_per_sample_interpolates():
    penalty = _loss("wgan-gp").penalty
    real = torch.tensor([[3.0, 0.0], [0.0, 1.0]]).view(2, 1, 1, 2)
    fake = torch.tensor([[0.0, 0.0], [0.0, -1.0]]).view(2, 1, 1, 2)
    torch.manual_seed(5)
    eps = torch.rand(2, 1, 1, 1)
    xhat = eps * real + (1 - eps) * fake
    expected = 10 * ((xhat.flatten(1).norm(dim=1) - 1) ** 2).mean()
    torch.manual_seed(5)
    assert penalty(_Square(), real, fake).item() == pytest.approx(expected.item(), rel=1e-5)
    # neither endpoint: the penalty at the real (or fake) points differs
    at_real = 10 * ((real.flatten(1).norm(dim=1) - 1) ** 2).mean()
    assert expected.item() != pytest.approx(at_real.item())


def test_trainer_adds_penalty_on_detached_fakes(small_store, tmp_path):
    """A loss's penalty is called once per critic step with the eager D, real and detached
    fake images, and is added to the discriminator loss the trainer reports."""
    base = _loss("wgan-gp")
    calls, d_values = [], []

    def d_loss(real_logits, fake_logits):
        d_values.append(base.d_loss(real_logits, fake_logits))
        return d_values[-1]

    def penalty(critic, real, fake):
        calls.append((critic, real.shape, fake.requires_grad, base.penalty(critic, real, fake)))
        return calls[-1][-1]

    spec = LossSpec("recording-gp", d_loss, base.g_loss, penalty, critic_steps=3)
    from gantk.contract.registry import PluginInfo

    get_registry().add("loss", spec, PluginInfo("t", "tests", "0", __name__, False))
    config = make_config({"data": str(small_store), "loss": "recording-gp", "batch_size": 8,
                          "steps": 1, "device": "cpu", "model": {"ngf": 8, "ndf": 8,
                                                                 "d_batchnorm": False}})
    trainer = Trainer(config, tmp_path / "run", log=lambda m: None)
    batches = [torch.zeros(8, 1, 32, 32, dtype=torch.uint8) + 7 * i for i in range(3)]
    stats = trainer.train_step(batches)
    assert len(calls) == 3
    assert all(c[0] is trainer.discriminator and c[1] == (8, 1, 32, 32) and not c[2]
               for c in calls)
    assert stats["loss_d"].item() == pytest.approx((d_values[-1] + calls[-1][-1]).item())


def test_ragan_values_and_gradient_signs():
    spec = _loss("ragan")
    assert spec.needs_real_logits and spec.critic_steps == 1
    softplus = lambda x: math.log1p(math.exp(x))  # noqa: E731
    # real (2, 0): mean 1; fake (-1, 1): mean 0
    value, (g_real, g_fake) = _grads(spec.d_loss, _t(2.0, 0.0), _t(-1.0, 1.0))
    assert value == pytest.approx(softplus(-2) + LOG2)
    assert all(g < 0 for g in g_real) and all(g > 0 for g in g_fake)
    real = torch.tensor([2.0, 0.0])
    value, (grad,) = _grads(lambda f: spec.g_loss(f, real), _t(-1.0, 1.0))
    assert value == pytest.approx(softplus(2) + LOG2)
    assert all(g < 0 for g in grad)  # descent raises fake logits relative to the real ones
    # relativistic: shifting every logit by the same amount changes nothing
    assert spec.g_loss(torch.tensor([2.0, 4.0]), real + 3).item() == pytest.approx(value)


def _record_g_loss(name: str, base: LossSpec, seen: list) -> LossSpec:
    from gantk.contract.registry import PluginInfo

    def g_loss(fake_logits, *rest):
        seen.append(rest)
        return base.g_loss(fake_logits, *rest)

    spec = LossSpec(name, base.d_loss, g_loss, needs_real_logits=base.needs_real_logits)
    get_registry().add("loss", spec, PluginInfo("t", "tests", "0", __name__, False))
    return spec


@pytest.mark.parametrize("base", ["ragan", "nonsaturating"])
def test_trainer_passes_real_logits_only_when_asked(base, small_store, tmp_path):
    seen: list = []
    name = f"recording-{base}"
    _record_g_loss(name, _loss(base), seen)
    config = make_config({"data": str(small_store), "loss": name, "batch_size": 8,
                          "steps": 1, "device": "cpu", "model": {"ngf": 8, "ndf": 8}})
    trainer = Trainer(config, tmp_path / "run", log=lambda m: None)
    batch = torch.randint(0, 255, (8, 1, 32, 32), dtype=torch.uint8)
    stats = trainer.train_step([batch])
    assert torch.isfinite(stats["loss_g"])
    if base == "nonsaturating":
        assert seen == [()]
        return
    (real_logits,), = seen
    assert real_logits.shape == (8,) and not real_logits.requires_grad
    with torch.no_grad():  # D's logits on the same real batch after the D update
        expected = trainer.discriminator(trainer._real(batch)).float()
    assert torch.allclose(real_logits, expected, atol=1e-5)


def test_loss_options_configure_the_loss_the_trainer_uses(small_store, tmp_path):
    """`--set loss.gp_weight=… --set loss.critic_steps=…` reach the penalty and the critic
    schedule (steps per epoch too); the defaults are the paper's."""
    config = make_config({"data": str(small_store), "loss": "wgan-gp", "batch_size": 8,
                          "steps": 1, "device": "cpu", "model": {"ngf": 8, "ndf": 8,
                                                                 "d_batchnorm": False}},
                         parse_overrides(["loss.gp_weight=2.5", "loss.critic-steps=2"]))
    assert config.loss_options == {"gp_weight": 2.5, "critic-steps": 2}
    trainer = Trainer(config, tmp_path / "run", log=lambda m: None)
    assert trainer.loss.critic_steps == 2
    critic = _Linear(1.0)  # ||w|| = 2: the penalty is the weight times (2 - 1)^2
    real, fake = torch.randn(3, 1, 2, 2), torch.randn(3, 1, 2, 2)
    assert trainer.loss.penalty(critic, real, fake).item() == pytest.approx(2.5)
    assert _loss("wgan-gp").penalty(critic, real, fake).item() == pytest.approx(10.0)
    by_epoch = config.model_copy(update={"steps": None, "epochs": 1})
    images = read_metadata(small_store)["count"]
    assert resolve_config(by_epoch).steps == math.ceil(images // 8 / 2)


@pytest.mark.parametrize(("loss", "setting", "message"), [
    ("wgan-gp", "loss.gp_weight=abc", "loss 'wgan-gp': gp_weight='abc': input should be a "
                                      "valid number"),
    ("wgan-gp", "loss.gp_weight=0", "gp_weight=0: input should be greater than 0"),
    ("wgan-gp", "loss.lambda=3", "unknown option(s) lambda; known options: gp_weight: float "
                                 "= 10.0, critic_steps: int = 5"),
    ("ragan", "loss.weight=3", "loss 'ragan' takes no options (given: weight)"),
])
def test_bad_loss_option_is_one_line_before_any_work(loss, setting, message, small_store,
                                                     tmp_path, capsys):
    from tests.cli_helpers import gantk_in_process

    out = tmp_path / "run"
    code, _, err = gantk_in_process(capsys, "run", "dcgan", "--data", small_store, "--out",
                                    out, "--steps", "1", "--set", f"loss={loss}", "--set",
                                    setting)
    assert code == 2
    (line,) = err.strip().splitlines()
    assert message in line and "--set loss.KEY=VALUE" in line
    assert not out.exists()


def test_contract_checker_checks_the_configured_loss():
    """check_loss(name, options) checks the loss as a run with those options would use it,
    and refuses options the loss does not take."""
    from gantk.errors import ConfigError
    from gantk.testing import check_loss

    check_loss("wgan-gp", {"gp_weight": 2.0, "critic_steps": 1})
    with pytest.raises(ConfigError, match="critic_steps=0: input should be greater than or "
                                          "equal to 1"):
        check_loss("wgan-gp", {"critic_steps": 0})
    with pytest.raises(ConfigError, match="loss 'hinge' takes no options"):
        check_loss("hinge", {"margin": 2})

