// A seedable pseudo-random generator (xoshiro256**, seeded through SplitMix64), as torch.Generator.
// Factories and layer initialisers take one; without it they draw from Generator.Default, which
// Generator.ManualSeed reseeds (torch.manual_seed). Normals come from Box–Muller.
// GetState/SetState (torch.Generator.get_state/set_state) capture the whole state, the cached second
// normal of Box–Muller included, so a restored generator continues exactly where the saved one was.
namespace MiniNet;

/// <summary>A seedable random generator for tensor factories, initialisation and dropout.</summary>
public sealed class Generator
{
    ulong _s0, _s1, _s2, _s3;
    double? _spareNormal;

    /// <summary>The generator used when none is passed.</summary>
    public static Generator Default { get; } = new(0x5EED);

    /// <summary>Reseeds <see cref="Default"/> (as <c>torch.manual_seed</c>).</summary>
    public static void ManualSeed(long seed) => Default.Seed(seed);

    /// <summary>A generator started from <paramref name="seed"/>.</summary>
    public Generator(long seed) => Seed(seed);

    /// <summary>Restarts the sequence from <paramref name="seed"/>.</summary>
    public void Seed(long seed)
    {
        ulong x = unchecked((ulong)seed);
        _s0 = SplitMix(ref x);
        _s1 = SplitMix(ref x);
        _s2 = SplitMix(ref x);
        _s3 = SplitMix(ref x);
        _spareNormal = null;
    }

    /// <summary>The number of words in <see cref="GetState"/>'s array.</summary>
    public const int StateLength = 6;

    /// <summary>
    /// The full state (as <c>torch.Generator.get_state</c>): the four xoshiro256** words, then 1 and the
    /// bits of the cached Box–Muller normal when one is waiting, else 0 and 0.
    /// </summary>
    public ulong[] GetState() => _spareNormal is double spare
        ? [_s0, _s1, _s2, _s3, 1, BitConverter.DoubleToUInt64Bits(spare)]
        : [_s0, _s1, _s2, _s3, 0, 0];

    /// <summary>Restores a state from <see cref="GetState"/> (as <c>torch.Generator.set_state</c>).</summary>
    /// <exception cref="ArgumentException">The array does not have <see cref="StateLength"/> words, the four
    /// xoshiro words are all zero (a generator that would only return zeros), or the cached-normal words are invalid.</exception>
    public void SetState(ulong[] state)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (state.Length != StateLength)
            throw new ArgumentException($"Generator.SetState: expected {StateLength} words (4 xoshiro256** words, a cached-normal flag, its bits), got {state.Length}.", nameof(state));
        if ((state[0] | state[1] | state[2] | state[3]) == 0)
            throw new ArgumentException("Generator.SetState: the xoshiro256** words are all zero, a state the generator never reaches (it would return only zeros).", nameof(state));
        double? spare = state[4] switch
        {
            0 when state[5] == 0 => null,
            1 when double.IsFinite(BitConverter.UInt64BitsToDouble(state[5])) => BitConverter.UInt64BitsToDouble(state[5]),
            _ => throw new ArgumentException($"Generator.SetState: words 4 and 5 must be 0, 0 (no cached normal) or 1 and a finite double's bits, got {state[4]}, 0x{state[5]:X16}.", nameof(state)),
        };
        (_s0, _s1, _s2, _s3, _spareNormal) = (state[0], state[1], state[2], state[3], spare);
    }

    static ulong SplitMix(ref ulong x)
    {
        ulong z = x += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>64 random bits.</summary>
    public ulong NextUInt64()
    {
        ulong result = ulong.RotateLeft(_s1 * 5, 7) * 9;
        ulong t = _s1 << 17;
        _s2 ^= _s0;
        _s3 ^= _s1;
        _s1 ^= _s2;
        _s0 ^= _s3;
        _s2 ^= t;
        _s3 = ulong.RotateLeft(_s3, 45);
        return result;
    }

    /// <summary>Uniform in [0, 1) with 53 random bits.</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>Uniform in [low, high).</summary>
    public double NextUniform(double low, double high) => low + (high - low) * NextDouble();

    /// <summary>Standard normal.</summary>
    public double NextNormal()
    {
        if (_spareNormal is double spare)
        {
            _spareNormal = null;
            return spare;
        }
        double u1 = 1.0 - NextDouble(), u2 = NextDouble();
        double r = Math.Sqrt(-2.0 * Math.Log(u1));
        _spareNormal = r * Math.Sin(2 * Math.PI * u2);
        return r * Math.Cos(2 * Math.PI * u2);
    }

    /// <summary>Uniform integer in [0, maxExclusive).</summary>
    public int NextInt(int maxExclusive)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxExclusive);
        return (int)(NextUInt64() % (ulong)maxExclusive);
    }
}
