namespace UNet.Segmentation.Export;

/// <summary>
/// The int8 export cannot calibrate on the images it was given: an image has the wrong number of
/// channels, is constant (it shows the network nothing: zero range), holds NaN or infinite
/// values, or the model computes a NaN, infinite or everywhere-zero activation on them. The
/// message is one line naming the image and, where one is at fault, the activation;
/// <see cref="ArgumentException.ParamName"/> is the option, <c>Int8.Calibration</c>.
/// </summary>
public sealed class Int8CalibrationException : ArgumentException
{
    /// <summary>The option the exceptions name.</summary>
    public const string Option = "Int8.Calibration";

    /// <summary>Creates the exception.</summary>
    public Int8CalibrationException(string message, string? image = null, string? activation = null)
        : base(message, Option)
    {
        Image = image;
        Activation = activation;
    }

    /// <summary>The calibration image at fault, when one is.</summary>
    public string? Image { get; }

    /// <summary>The graph value (activation) at fault, when one is.</summary>
    public string? Activation { get; }
}
