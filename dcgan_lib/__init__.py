"""dcgan_lib: the models, losses, data, trainer and pictures behind the DCGAN Book.

Notebooks import only what this module exports::

    from dcgan_lib import Generator, Discriminator, load_dataset, train
"""

from .checkpoint import CheckpointError, export_checkpoint, load_checkpoint, load_generator, load_model, save_checkpoint
from .data import DATASETS, Dataset, load_dataset, toy_mixture
from .losses import (
    discriminator_loss,
    generator_loss,
    generator_loss_nonsaturating,
    generator_loss_saturating,
    value_function,
)
from .models import (
    Discriminator,
    Generator,
    MLPDiscriminator,
    MLPGenerator,
    count_parameters,
    dcgan_init,
    model_from_config,
)
from .train import (
    Callback,
    CheckpointEvery,
    History,
    NonFiniteLossError,
    TrainConfig,
    Trainer,
    discriminator_step,
    generator_step,
    resolve_device,
    train,
)
from .viz import (
    animate_samples,
    image_grid,
    plot_decision_surface,
    plot_history,
    plot_optimal_discriminator,
    plot_points,
    save_grid,
    show_images,
)

__version__ = "0.1.0"
from .pretrained import manifest, pretrained
from .metrics import (
    Classifier,
    WeightsUnavailableError,
    class_histogram,
    density_coverage,
    evaluate,
    evaluate_features,
    evaluate_samples,
    feature_extractor,
    fid_from_features,
    format_results,
    frechet_distance,
    gaussian_stats,
    load_classifier,
    nearest_neighbours,
    nearest_training_images,
    ball_membership,
    precision_recall,
    results_table,
    sample_generator,
    toy_mode_coverage,
    train_classifier,
)
from .notebook import glue
