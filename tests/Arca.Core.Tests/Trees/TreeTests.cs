using System.Text;
using Arca.Repo;
using Arca.Trees;

namespace Arca.Core.Tests.Trees;

public sealed class TreeTests
{
    private static Node File(string name) => new() { Name = name, Type = NodeType.File, Mode = 420, Size = 3, Content = [new BlobId(default)] };

    [Fact]
    public void Serialization_is_deterministic_so_unchanged_folders_give_the_same_bytes()
    {
        var a = new Tree([File("a"), File("b")]).Serialize();
        var b = new Tree([File("a"), File("b")]).Serialize();
        a.ShouldBe(b);
        var parsed = Tree.Deserialize(a);
        parsed.Nodes.Select(n => n.Name).ShouldBe(["a", "b"]);
        parsed.Nodes[0].Type.ShouldBe(NodeType.File);
        Encoding.UTF8.GetString(a).ShouldContain("\"type\":\"file\"");
    }

    [Theory]
    [InlineData("..")]
    [InlineData(".")]
    [InlineData("a/b")]
    [InlineData("")]
    [InlineData("x\u0000y")]
    public void A_tree_holding_a_name_that_is_not_one_path_component_is_refused(string name)
    {
        var bytes = new Tree([File(name)]).Serialize();
        Should.Throw<InvalidDataException>(() => Tree.Deserialize(bytes));
    }

    [Fact]
    public void A_tree_holding_a_name_twice_is_refused()
    {
        var bytes = new Tree([File("a"), File("a")]).Serialize();
        Should.Throw<InvalidDataException>(() => Tree.Deserialize(bytes));
    }

    [Fact]
    public void Find_uses_ordinal_order()
    {
        var tree = new Tree([File("B"), File("a"), File("b")]);
        tree.Find("a")!.Name.ShouldBe("a");
        tree.Find("B")!.Name.ShouldBe("B");
        tree.Find("c").ShouldBeNull();
    }
}
