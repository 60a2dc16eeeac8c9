"""dcgan_lib: the models, losses, data, trainer, metrics and pictures behind the DCGAN Book.

Notebooks import only what this module exports::

    from dcgan_lib import Generator, Discriminator, load_dataset, train

The modules, one job each (imports run downwards only; tests/test_layering.py checks it):

    cli, classroom, checks          the command line; student copies; graded checks
    evaluation, features            scoring generators, results tables; feature extractors
    latent, latent_maps, latent_view the latent space: interpolation, walks, arithmetic;
                                    feature maps dropped; its pictures and explorer
    probe                           the discriminator's features and the linear probe on them
    conditional_view                the conditional DCGAN's class selector and its static twin
    style, textures                 style transfer and texture synthesis; their fast networks
    train, checkpoint, metrics      the trainer; checkpoints and the manifest; the metrics' maths
    models, losses, data, viz,      networks, losses, datasets, pictures and tables,
    device, notebook                the machine; glue for the book's prose
"""

from .ablations import (
    ABLATIONS,
    AblatedDiscriminator,
    AblatedGenerator,
    InputBatchNormDiscriminator,
    OutputBatchNormGenerator,
    make_ablation_pair,
)
from .authors import AuthorsDiscriminator, AuthorsGenerator
from .checkpoint import (
    CheckpointError,
    export_checkpoint,
    load_checkpoint,
    load_generator,
    load_model,
    manifest,
    pretrained,
    save_checkpoint,
)
from .conditional import (
    ConditionalTrainer,
    check_label_contract,
    class_agreement,
    conditional_discriminator_step,
    conditional_generator_step,
    per_class_fid,
    sample_per_class,
)
from .conditional_models import ConditionalGenerator, ProjectionDiscriminator, check_labels
from .conditional_view import (
    class_noise,
    class_samples_figure,
    class_selector,
    draw_class_samples,
)
from .contracts import check_data_contract
from .data import DATASETS, Dataset, load_dataset
from .device import (
    DENSE_PEAKS,
    autocast_dtype,
    cpu_has_amx_bf16,
    dense_peak_flops,
    hardware,
    resolve_device,
    supports_bf16,
    supports_tf32,
)
from .evaluation import (
    compare_runs,
    evaluate,
    evaluate_features,
    evaluate_samples,
    format_results,
    nearest_training_images,
    results_table,
)
from .features import (
    Classifier,
    FeatureExtractor,
    WeightsUnavailableError,
    feature_extractor,
    load_classifier,
    train_classifier,
)
from .history import UpdateSizes
from .latent import (
    class_latents,
    class_mean_latents,
    concept_arithmetic,
    latent_path,
    lerp,
    midpoint_report,
    slerp,
    walk_report,
)
from .latent_maps import (
    class_feature_maps,
    drop_feature_maps,
    forgetting,
    hidden_layers,
    map_activations,
)
from .latent_view import (
    draw_position,
    explorer_figure,
    latent_explorer,
    plot_latent_rows,
    position_latent,
)
from .losses import (
    GaussianGame,
    discriminator_loss,
    discriminator_loss_hinge,
    gaussian_game,
    generator_loss,
    generator_loss_hinge,
    generator_loss_nonsaturating,
    generator_loss_saturating,
    generator_objective,
    r1_penalty,
    value_function,
)
from .metrics import (
    ball_membership,
    checkerboard_score,
    class_histogram,
    density_coverage,
    fid_from_features,
    frechet_distance,
    gaussian_stats,
    kernel_inception_distance,
    mmd2_unbiased,
    mode_hopping,
    nearest_neighbours,
    pixel_spread,
    precision_recall,
    roughness,
    toy_mode_coverage,
)
from .models import (
    Discriminator,
    Generator,
    MLPDiscriminator,
    MLPGenerator,
    check_image_size,
    check_model_contract,
    count_parameters,
    dcgan_init,
    draw_latent,
    make_pair,
    model_from_config,
    sample_generator,
)
from .notebook import describe_figure, glue
from .probe import (
    DiscriminatorClassifier,
    balanced_subset,
    class_purity,
    discriminator_features,
    hidden_maps,
    linear_probe,
    pool_to_grid,
    receptive_field,
    top_patches,
)
from .stabilisers import (
    SNDiscriminator,
    discriminator_loss_of,
    ema_copy,
    generator_loss_of,
    update_ema,
)
from .style import (
    FeatureNetwork,
    Synthesis,
    content_layer,
    content_loss,
    feature_network,
    gram_matrix,
    measure_style,
    random_network,
    style_layers,
    style_loss,
    synthesise,
    total_variation_loss,
    vgg19_network,
)
from .textures import (
    SpatialDiscriminator,
    SpatialGenerator,
    StyleNetwork,
    load_trained,
    picture,
    random_crops,
    sample_photo,
    train_spatial_gan,
    train_style_network,
)
from .timeline import Milestone, plot_timeline
from .toys import toy_mixture
from .tracing import LayerTrace, count_flops, trace_layers, trace_stages
from .train import (
    Callback,
    CheckpointEvery,
    History,
    NonFiniteLossError,
    TrainConfig,
    Trainer,
    discriminator_step,
    generator_step,
    train,
)
from .viz import (
    Table,
    animate_samples,
    image_grid,
    plot_decision_surface,
    plot_history,
    plot_optimal_discriminator,
    plot_points,
    save_grid,
    show_images,
    table,
)

__version__ = "0.1.0"
