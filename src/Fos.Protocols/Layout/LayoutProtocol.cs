using Fos.Kernel;

namespace Fos.Protocols.Layout;

/// <summary>Which cores run the system's servers and which run applications.</summary>
public sealed record LayoutConfigure(CoreId[] SystemCores, CoreId[] ApplicationCores);

/// <summary>Where should a new application run → CoreId.</summary>
public sealed record LayoutPlace;

/// <summary>An application on <paramref name="Core"/> ended.</summary>
public sealed record LayoutRelease(CoreId Core);

/// <summary>The whole layout → LayoutCore[].</summary>
public sealed record LayoutTable;

/// <summary>One core in the layout: its role, and how many applications run there now.</summary>
public sealed record LayoutCore(CoreId Core, string Role, int Applications);
