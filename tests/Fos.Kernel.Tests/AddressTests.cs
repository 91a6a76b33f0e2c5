namespace Fos.Kernel.Tests;

public class AddressTests
{
    [Fact]
    public void An_address_prints_and_parses_as_machine_core_mailbox()
    {
        var address = new Address(1, 3, 7);
        Assert.Equal("m1.c3.b7", address.ToString());
        Assert.Equal(address, Address.Parse("m1.c3.b7"));
        Assert.Equal(new CoreId(1, 3), address.CoreId);
        Assert.Equal(new Address(1, 3, Address.KernelMailbox), address.CoreId.Kernel);
    }

    [Theory]
    [InlineData("")]
    [InlineData("m1.c3")]
    [InlineData("m1.c3.b7.x")]
    [InlineData("x1.c3.b7")]
    [InlineData("m1.c-3.b7")]
    [InlineData("m.c3.b7")]
    [InlineData("m70000.c3.b7")]
    [InlineData("m1.c3.b99999999999")]
    [InlineData(" m1.c3.b7")]
    public void A_malformed_address_is_refused_with_the_expected_form(string text)
    {
        Assert.False(Address.TryParse(text, out _));
        var error = Assert.Throws<FormatException>(() => Address.Parse(text));
        Assert.Contains("m1.c3.b7", error.Message);
    }

    [Fact]
    public void A_core_id_prints_and_parses()
    {
        Assert.Equal("m2.c5", new CoreId(2, 5).ToString());
        Assert.Equal(new CoreId(2, 5), CoreId.Parse("m2.c5"));
        Assert.False(CoreId.TryParse("m2", out _));
        Assert.False(CoreId.TryParse(null, out _));
        Assert.Throws<FormatException>(() => CoreId.Parse("c5.m2"));
    }

    [Fact]
    public void A_capability_never_prints_its_whole_secret()
    {
        var capability = new Capability(0x0123456789abcdefUL, 0xfedcba9876543210UL);
        var text = capability.ToString();
        Assert.DoesNotContain("89abcdef", text);
        Assert.DoesNotContain("76543210", text);
        Assert.Equal("cap:none", Capability.None.ToString());
        Assert.True(Capability.None.IsNone);
        Assert.False(capability.IsNone);
    }
}
