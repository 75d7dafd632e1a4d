// Generator.GetState/SetState: a restored generator continues the exact sequence, including the cached
// second normal of Box–Muller; malformed states (wrong length, all-zero xoshiro words, a bad cache) are refused.
namespace MiniNet.Tests.IO;

public class GeneratorStateTests
{
    static (ulong[] Bits, double[] Normals) Draw(Generator g) =>
        ([g.NextUInt64(), g.NextUInt64()], [g.NextNormal(), g.NextNormal(), g.NextNormal()]);

    [Theory]
    [InlineData(0)]
    [InlineData(1)]   // an odd number of normals drawn: one is cached
    public void SetState_ContinuesTheSequenceExactly(int normalsBefore)
    {
        var g = new Generator(42);
        for (int i = 0; i < normalsBefore; i++) g.NextNormal();
        var state = g.GetState();
        Assert.Equal(Generator.StateLength, state.Length);
        Assert.Equal((ulong)normalsBefore, state[4]);
        var expected = Draw(g);

        var restored = new Generator(7);
        restored.SetState(state);
        var actual = Draw(restored);
        Assert.Equal(expected.Bits, actual.Bits);
        Assert.Equal(expected.Normals, actual.Normals);
        Assert.Equal(g.GetState(), restored.GetState());
    }

    [Fact]
    public void GetState_IsACopy()
    {
        var g = new Generator(1);
        var state = g.GetState();
        state[0] ^= 1;
        Assert.NotEqual(state, g.GetState());
    }

    [Fact]
    public void SetState_RefusesMalformedStates()
    {
        var g = new Generator(3);
        var before = g.GetState();
        Assert.Contains("expected 6 words", Assert.Throws<ArgumentException>(() => g.SetState([1, 2, 3, 4])).Message, StringComparison.Ordinal);
        Assert.Contains("all zero", Assert.Throws<ArgumentException>(() => g.SetState([0, 0, 0, 0, 0, 0])).Message, StringComparison.Ordinal);
        Assert.Contains("words 4 and 5", Assert.Throws<ArgumentException>(() => g.SetState([1, 2, 3, 4, 2, 0])).Message, StringComparison.Ordinal);
        Assert.Contains("words 4 and 5", Assert.Throws<ArgumentException>(() => g.SetState([1, 2, 3, 4, 0, 5])).Message, StringComparison.Ordinal);
        Assert.Contains("words 4 and 5", Assert.Throws<ArgumentException>(() => g.SetState([1, 2, 3, 4, 1, BitConverter.DoubleToUInt64Bits(double.NaN)])).Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentNullException>(() => g.SetState(null!));
        Assert.Equal(before, g.GetState());
    }
}
