// The documents' networks, built from the layer API. Each takes batchNorm: false for the same
// network without its BatchNorm layers (what `--no-bn` and `compare` train).
using MiniNet.Layers;

namespace MiniNet.Samples;

/// <summary>The sample models.</summary>
public static class Models
{
    /// <summary>
    /// The documents' MLP: Flatten, Linear 784→256, ReLU, BatchNorm1d(256), [Dropout], Linear 256→10.
    /// Trained with softmax cross-entropy: the documents' sigmoid + binary cross-entropy over ten
    /// classes treats them as independent yes/no questions, which is not what a 10-way digit is.
    /// </summary>
    public static Sequential MnistMlp(bool batchNorm = true, double dropout = 0, int inputs = 784, int classes = 10)
    {
        var model = new Sequential(new Flatten(), new Linear(inputs, 256), new ReLU());
        if (batchNorm) model.Add(new BatchNorm1d(256));
        if (dropout > 0) model.Add(new Dropout(dropout));
        model.Add(new Linear(256, classes));
        return model;
    }

    /// <summary>
    /// The documents' CNN: Conv2d(c→64, 3, pad 1), ReLU, BatchNorm2d(64), MaxPool2d(2),
    /// Conv2d(64→128, 3, pad 1), ReLU, BatchNorm2d(128), MaxPool2d(2), Flatten,
    /// Linear(128·(size/4)²→1000), ReLU, [Dropout], Linear(1000→10). 32×32 input gives the documents'
    /// 128·8·8 features; 28×28 gives 128·7·7.
    /// </summary>
    public static Sequential Cnn(int channels, int size, bool batchNorm = true, double dropout = 0, int classes = 10)
    {
        if (size < 4) throw new ArgumentOutOfRangeException(nameof(size), $"Cnn: images must be at least 4×4 for two 2×2 poolings, got {size}.");
        var model = new Sequential(new Conv2d(channels, 64, 3, padding: 1), new ReLU());
        if (batchNorm) model.Add(new BatchNorm2d(64));
        model.Add(new MaxPool2d(2));
        model.Add(new Conv2d(64, 128, 3, padding: 1));
        model.Add(new ReLU());
        if (batchNorm) model.Add(new BatchNorm2d(128));
        model.Add(new MaxPool2d(2));
        int side = size / 4;
        model.Add(new Flatten());
        model.Add(new Linear(128 * side * side, 1000));
        model.Add(new ReLU());
        if (dropout > 0) model.Add(new Dropout(dropout));
        model.Add(new Linear(1000, classes));
        return model;
    }
}
