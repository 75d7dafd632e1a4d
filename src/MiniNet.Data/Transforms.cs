// The per-sample transforms a DataLoader applies while it builds a batch, as torchvision's
// ToTensor + Normalize and RandomCrop(padding) + RandomHorizontalFlip. Normalize maps a byte b of
// channel c to (b/255 − Mean[c]) / Std[c] in float32 (a one-element Mean/Std applies to every channel);
// without one the loader gives b/255 (ToTensor). Augment pads with zeros in pixel space, so a padded
// pixel becomes (0 − Mean[c]) / Std[c] after normalisation.
namespace MiniNet.Data;

/// <summary>Per-channel normalisation (x/255 − mean) / std, as torchvision's <c>ToTensor</c> followed by <c>Normalize</c>.</summary>
/// <param name="Mean">The mean per channel (or one value for every channel), in the [0, 1] scale.</param>
/// <param name="Std">The standard deviation per channel (or one value for every channel); each must be positive.</param>
public sealed record Normalize(float[] Mean, float[] Std)
{
    /// <summary>MNIST: mean 0.1307, std 0.3081.</summary>
    public static Normalize Mnist { get; } = new([0.1307f], [0.3081f]);

    /// <summary>Fashion-MNIST: mean 0.2860, std 0.3530.</summary>
    public static Normalize FashionMnist { get; } = new([0.2860f], [0.3530f]);

    /// <summary>CIFAR-10: mean (0.4914, 0.4822, 0.4465), std (0.2470, 0.2435, 0.2616).</summary>
    public static Normalize Cifar10 { get; } = new([0.4914f, 0.4822f, 0.4465f], [0.2470f, 0.2435f, 0.2616f]);

    // The table a loader uses: lookup[c * 256 + b] = (b/255 − Mean[c]) / Std[c], computed in float32 in
    // torchvision's order (divide, subtract, divide) so the values match it bit for bit.
    internal float[] LookupTable(int channels, string datasetName)
    {
        if (Mean is null || Std is null)
            throw new ArgumentException($"Normalize: Mean and Std must not be null (dataset '{datasetName}').");
        if (Mean.Length != Std.Length || (Mean.Length != 1 && Mean.Length != channels))
            throw new ArgumentException(
                $"Normalize: {Mean.Length} means and {Std.Length} stds for dataset '{datasetName}' with {channels} channel(s); expected {channels} of each (or 1 for all channels).");
        var table = new float[channels * 256];
        for (int c = 0; c < channels; c++)
        {
            float mean = Mean[Mean.Length == 1 ? 0 : c], std = Std[Std.Length == 1 ? 0 : c];
            if (!float.IsFinite(mean) || !float.IsFinite(std) || std <= 0)
                throw new ArgumentException($"Normalize: channel {c} has mean {mean} and std {std}; expected finite values and std > 0.");
            for (int b = 0; b < 256; b++) table[c * 256 + b] = (b / 255f - mean) / std;
        }
        return table;
    }

    // The table for no normalisation: b/255 on every channel (ToTensor).
    internal static float[] ToTensorTable(int channels)
    {
        var table = new float[channels * 256];
        for (int c = 0; c < channels; c++)
        {
            for (int b = 0; b < 256; b++) table[c * 256 + b] = b / 255f;
        }
        return table;
    }
}

/// <summary>
/// Training-time augmentation, applied per sample before normalisation: a random crop of the original size
/// from the image padded by <paramref name="CropPadding"/> zero pixels on every side (torchvision's
/// <c>RandomCrop(size, padding=CropPadding)</c>), then a horizontal flip with probability 0.5 when
/// <paramref name="HorizontalFlip"/> is set (<c>RandomHorizontalFlip()</c>).
/// </summary>
/// <param name="CropPadding">Pixels of zero padding on each side before the crop; 0 turns cropping off.</param>
/// <param name="HorizontalFlip">Mirror left-right with probability 0.5.</param>
public sealed record Augment(int CropPadding = 0, bool HorizontalFlip = false)
{
    /// <summary>The usual CIFAR-10 recipe: pad 4 and crop, random horizontal flip.</summary>
    public static Augment Cifar10 { get; } = new(4, true);
}
