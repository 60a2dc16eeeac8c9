"""Graded checks for the book's exercises and classroom assignments.

An exercise cell holds the student's answer; the cell after it calls one check:

    from dcgan_lib import checks
    checks.check_to_unit_range(to_unit_range)

Each ``check_*`` function takes the student's object(s), tries them on inputs whose
right answer is known, and either prints one line "✓ ... passed" and returns True, or
raises :class:`CheckFailed` (an ``AssertionError``, so nbgrader and pytest count it as a
failed test) with a message that says what is off: expected vs got shape, value range,
the missing layer, the loss vs the formula.

The checks of each chapter live in their own module, ``chNN_name.py`` after the chapter's
notebook (``ch05_dcgan_architecture.py`` for notebooks/05_dcgan_architecture), built from
the helpers in ``_common.py``.

Writing a check for a new chapter: add a module ``chNN_name.py`` and build its checks from
the helpers (``_expect``, ``_shape``, ``_close``, ``_in_range``, ``_call``, ...) in
``_common.py``; re-export its ``check_*`` functions here (the import below and
``__all__``); and register a passing and a failing answer for each in tests/test_checks.py
(the suite fails otherwise).
"""

from __future__ import annotations

from ._common import CheckFailed
from .ch00_quickstart import check_discriminator_logits, check_generated_images, check_to_unit_range
from .ch01_gan_game import check_jsd, check_optimal_discriminator
from .ch02_gan_2d import check_mode_coverage, check_point_generator
from .ch03_fc_gan_images import check_gan_pair, check_mlp_parameter_count
from .ch04_conv_building_blocks import check_batch_norm, check_upsampling_layer
from .ch05_dcgan_architecture import check_dcgan_pair, check_generator_stages
from .ch06_training_dcgan import check_discriminator_step, check_nonsaturating_generator_loss
from .ch07_evaluating_gans import check_frechet_distance
from .ch08_gan_vs_dcgan import check_compare_runs, check_parameters_by_layer_type
from .ch09_guidelines_ablated import check_nyquist_fraction
from .ch10_latent_space import check_drop_maps, check_slerp
from .ch11_discriminator_features import check_balanced_subset, check_pool_to_grid
from .ch12_style_transfer import (
    check_content_loss,
    check_gram_matrix,
    check_style_loss,
    check_total_variation_loss,
)
from .ch13_conditional_dcgan import check_projection_logit
from .ch14_stabilisers import check_spectral_norm_estimate
from .ch15_after_dcgan import check_hinge_discriminator_loss
from .ch90_how_fast_it_trains import check_layer_flops

__all__ = [
    "CheckFailed",
    "check_to_unit_range",
    "check_generated_images",
    "check_discriminator_logits",
    "check_optimal_discriminator",
    "check_jsd",
    "check_mode_coverage",
    "check_point_generator",
    "check_upsampling_layer",
    "check_batch_norm",
    "check_generator_stages",
    "check_dcgan_pair",
    "check_frechet_distance",
    "check_compare_runs",
    "check_parameters_by_layer_type",
    "check_nyquist_fraction",
    "check_gan_pair",
    "check_mlp_parameter_count",
    "check_discriminator_step",
    "check_nonsaturating_generator_loss",
    "check_pool_to_grid",
    "check_slerp",
    "check_drop_maps",
    "check_balanced_subset",
    "check_gram_matrix",
    "check_total_variation_loss",
    "check_content_loss",
    "check_style_loss",
    "check_projection_logit",
    "check_spectral_norm_estimate",
    "check_hinge_discriminator_loss",
    "check_layer_flops",
]
