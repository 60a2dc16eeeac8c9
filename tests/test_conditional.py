"""The conditional DCGAN: the pair's shapes and conditioning, the projection term, the
label checks at the door, a short training run with its checkpoint, and the per-class
scores."""

import pytest
import torch
from torch import nn

from dcgan_lib import (
    ConditionalGenerator,
    ConditionalTrainer,
    Dataset,
    Discriminator,
    FeatureExtractor,
    Generator,
    ProjectionDiscriminator,
    TrainConfig,
    class_agreement,
    feature_extractor,
    load_checkpoint,
    load_generator,
    load_model,
    per_class_fid,
    sample_per_class,
)

K = 4  # classes of the synthetic set


def small_pair(k=K, seed=0):
    torch.manual_seed(seed)
    return ConditionalGenerator(16, 16, 1, 8, k), ProjectionDiscriminator(16, 1, 8, k)


def labelled_images(n=96, k=K, seed=1):
    """Images whose brightness says their class: class c is about -0.75 + 0.5 c."""
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % k
    x = (-0.75 + 0.5 * y.float()).view(-1, 1, 1, 1) + 0.05 * torch.randn(n, 1, 16, 16, generator=g)
    return x.clamp(-1, 1), y


def config(steps=30, **kw):
    return TrainConfig(steps=steps, batch_size=16, device="cpu", progress=False, **kw)


@pytest.mark.parametrize("size", [16, 32])
@pytest.mark.parametrize("channels", [1, 3])
def test_shapes(size, channels):
    G = ConditionalGenerator(8, size, channels, 4, n_classes=5)
    D = ProjectionDiscriminator(size, channels, 4, n_classes=5)
    z, y = torch.randn(3, 8), torch.tensor([0, 4, 2])
    x = G(z, y)
    assert x.shape == (3, channels, size, size) and x.abs().max() <= 1
    assert D(x, y).shape == (3,)
    assert G.latent_dim == 8 and G.n_classes == D.n_classes == 5
    assert G.config == {
        "class": "ConditionalGenerator",
        "kwargs": dict(
            latent_dim=8, image_size=size, channels=channels, width=4, n_classes=5, embed_dim=5
        ),
    }
    # the book's pair inside, not a copy: G's body takes z and the embedding side by side
    assert type(G.body) is Generator and G.body.latent_dim == 8 + 5
    assert type(D.body) is Discriminator and D.features(x).shape == (3, D.feature_dim)
    assert G(z).shape == x.shape  # no labels: the classes in turn


def test_the_label_changes_the_image_for_a_fixed_z():
    G, _ = small_pair()
    G.eval()
    z = torch.randn(6, 16)
    with torch.no_grad():
        a, b = G(z, torch.zeros(6, dtype=torch.long)), G(z, torch.ones(6, dtype=torch.long))
        again = G(z, torch.zeros(6, dtype=torch.long))
    assert torch.equal(a, again)
    assert (a - b).abs().mean() > 0.1 * a.abs().mean()  # untrained, in eval mode: small


def test_the_projection_term_is_the_inner_product_with_the_embedding():
    """D(x, y) - D(x, y') = <embed(y) - embed(y'), phi(x)>, and with the embedding at zero
    D(x, y) is the book's Discriminator's logit."""
    _, D = small_pair()
    D = D.double().eval()
    with torch.no_grad():
        D.embed.weight.normal_()  # make the term large, so that the check means something
        x = torch.rand(8, 1, 16, 16, dtype=torch.float64) * 2 - 1
        y, y2 = torch.arange(8) % K, (torch.arange(8) + 1) % K
        difference = D(x, y) - D(x, y2)
        projection = ((D.embed(y) - D.embed(y2)) * D.features(x)).sum(1)
        torch.testing.assert_close(difference, projection, rtol=0, atol=1e-10)
        assert difference.abs().min() > 1e-3
        D.embed.weight.zero_()
        torch.testing.assert_close(D(x, y), D.body(x), rtol=0, atol=1e-12)


def one_line(excinfo, *words):
    text = str(excinfo.value)
    assert "\n" not in text and all(w in text for w in words), text


def test_bad_labels_give_one_line_errors():
    G, D = small_pair()
    z, x = torch.randn(4, 16), torch.zeros(4, 1, 16, 16)
    with pytest.raises(TypeError) as e:
        G(z, torch.zeros(4))
    one_line(e, "integer", "float32")
    with pytest.raises(ValueError) as e:
        D(x, torch.tensor([0, 1, 2, K]))
    one_line(e, f"[0, {K})", f"{K}")
    with pytest.raises(ValueError) as e:
        G(z, torch.zeros(3, dtype=torch.long))
    one_line(e, "(4,)")
    x, y = labelled_images()
    with pytest.raises(ValueError) as e:
        ConditionalTrainer(G, D, Dataset(x, None, "digits", None, "test"), config())
    one_line(e, "no labels")
    with pytest.raises(ValueError) as e:
        ConditionalTrainer(G, D, (x, y + 1), config())
    one_line(e, "data", f"[0, {K})", f"to {K}")
    with pytest.raises(ValueError) as e:
        ConditionalTrainer(G, D, (x, y - 1), config())
    one_line(e, "from -1")
    with pytest.raises(TypeError) as e:
        ConditionalTrainer(Generator(16, 16, 1, 8), D, (x, y), config())
    one_line(e, "generator", "n_classes")
    with pytest.raises(ValueError) as e:
        ConditionalTrainer(G, ProjectionDiscriminator(16, 1, 8, K + 1), (x, y), config())
    one_line(e, "same n_classes")


def test_batches_keep_images_and_labels_together():
    G, D = small_pair()
    x, y = labelled_images()
    trainer = ConditionalTrainer(G, D, (x, y), config())
    for i in (0, 5, 11):  # into the second and third epoch
        images, labels = trainer._batch(i), trainer._labels(i)
        recovered = ((images.mean((1, 2, 3)) + 0.75) / 0.5).round().long()
        assert torch.equal(recovered, labels)


def test_training_runs_resumes_exactly_and_its_checkpoint_rebuilds_the_pair(tmp_path):
    x, y = labelled_images()
    G, D = small_pair()
    straight = ConditionalTrainer(G, D, (x, y), config(sample_every=10))
    history = straight.fit()
    assert len(history) == 30 and history.sample_steps[-1] == 30
    assert all(torch.isfinite(torch.tensor(history.loss_d + history.loss_g)))

    path = tmp_path / "checkpoint.pt"
    G2, D2 = small_pair()
    first = ConditionalTrainer(G2, D2, (x, y), config(sample_every=10))
    first.fit(15)
    first.save(path, dataset="synthetic")
    G3, D3 = small_pair(seed=5)  # other initial weights: the checkpoint overrides them
    resumed = ConditionalTrainer(G3, D3, (x, y), config(sample_every=10)).resume(path)
    resumed.fit()
    for a, b in zip(G.state_dict().values(), G3.state_dict().values()):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    assert resumed.history.loss_d == history.loss_d

    state = load_checkpoint(path)  # weights_only=True
    assert state["generator"]["config"]["class"] == "ConditionalGenerator"
    G_back, D_back = load_generator(path), load_model(path, "discriminator")
    assert isinstance(G_back, ConditionalGenerator) and isinstance(D_back, ProjectionDiscriminator)
    G2.eval(), D2.eval()
    z, labels = torch.randn(5, 16), torch.tensor([3, 2, 1, 0, 3])
    with torch.no_grad():
        torch.testing.assert_close(G_back(z, labels), G2(z, labels))
        torch.testing.assert_close(D_back(x[:5], labels), D2(x[:5], labels))


def test_sample_per_class_holds_z_and_changes_the_class():
    G, _ = small_pair()
    G.train()
    images, labels = sample_per_class(G, 3, seed=2)
    assert images.shape == (K * 3, 1, 16, 16) and labels.tolist() == [
        0,
        0,
        0,
        1,
        1,
        1,
        2,
        2,
        2,
        3,
        3,
        3,
    ]
    assert G.training  # restored
    assert torch.equal(images, sample_per_class(G, 3, seed=2)[0])
    with torch.no_grad():
        G.embed.weight.zero_()  # now G ignores y: every class block is the same images
    same, _ = sample_per_class(G, 3, seed=2)
    assert torch.equal(same[:3], same[9:])
    assert not torch.equal(images[:3], images[9:])


class Brightness(nn.Module):
    """A classifier of labelled_images: the class whose brightness is nearest."""

    def __init__(self):
        super().__init__()
        self.centres = nn.Parameter(-0.75 + 0.5 * torch.arange(K).float(), requires_grad=False)

    def forward(self, x):
        return -((x.mean((1, 2, 3))[:, None] - self.centres) ** 2)


class BrightnessGenerator(nn.Module):
    """Draws labelled_images' class y (``obey``) or a class picked by z alone."""

    def __init__(self, obey: bool):
        super().__init__()
        self.n_classes, self.latent_dim, self.obey = K, 4, obey
        self.scale = nn.Parameter(torch.ones(()))

    def forward(self, z, y):
        c = y if self.obey else (z[:, 0].abs() * 1000).long() % K
        noise = 0.05 * z[:, 1:2, None, None].expand(-1, 1, 16, 16)
        return (-0.75 + 0.5 * c.float()).view(-1, 1, 1, 1) * self.scale + noise


def test_class_agreement_tells_a_generator_that_ignores_its_label():
    obeys = class_agreement(BrightnessGenerator(True), Brightness(), n_per_class=50)
    ignores = class_agreement(BrightnessGenerator(False), Brightness(), n_per_class=50)
    assert obeys["overall"] == 1.0 and obeys["per_class"] == [1.0] * K
    assert ignores["overall"] == pytest.approx(1 / K, abs=1e-9)  # the same z serve every class
    assert sum(ignores["per_class"]) == pytest.approx(1.0)
    assert ignores["classifier"] == "Brightness"


def test_class_agreement_of_a_dcgan_that_ignores_y_is_one_in_ten():
    """The shipped Fashion-MNIST classifier, a conditional generator whose embedding is zero."""
    torch.manual_seed(0)
    G = ConditionalGenerator(16, 32, 1, 8, 10)
    with torch.no_grad():
        G.embed.weight.zero_()
    result = class_agreement(G, feature_extractor("classifier-fashion32"), n_per_class=20)
    assert result["overall"] == pytest.approx(0.1, abs=0.01)
    assert result["classifier"] == "classifier-fashion32" and len(result["per_class"]) == 10


def test_per_class_fid_prefers_the_generator_that_obeys():
    x, y = labelled_images(n=400, seed=3)
    stats = FeatureExtractor(
        "mean-std", lambda t: torch.stack([t.mean((1, 2, 3)), t.std((1, 2, 3))], 1), lambda t: t
    )
    obeys = per_class_fid(BrightnessGenerator(True), (x, y), stats, n_per_class=100)
    ignores = per_class_fid(BrightnessGenerator(False), (x, y), stats, n_per_class=100)
    assert len(obeys["per_class"]) == K and obeys["n_real"] == [100] * K
    assert obeys["mean"] < 0.1 * ignores["mean"]
    assert obeys["extractor"] == "mean-std"


def test_hinge_loss_and_r1_penalty_where_the_trainer_offers_them():
    if "r1_gamma" not in TrainConfig.__dataclass_fields__:
        pytest.skip("this TrainConfig has no r1_gamma")
    x, y = labelled_images()
    G, D = small_pair()
    history = ConditionalTrainer(G, D, (x, y), config(5, loss="hinge", r1_gamma=1.0)).fit()
    assert len(history) == 5 and all(torch.isfinite(torch.tensor(history.loss_d)))
