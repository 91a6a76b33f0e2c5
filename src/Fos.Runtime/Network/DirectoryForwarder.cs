using Fos.Kernel;
using Fos.Protocols.Naming;

namespace Fos.Runtime.Network;

/// <summary>
/// Carries a request this node cannot serve to the directory's leader, on machine
/// <paramref name="leader"/>, and answers the index it committed at (what the leader's
/// <see cref="RaftDirectory.HandleForwarded"/> answered). Any failure is retried until the
/// request's time is up, except the leader's refusals (<see cref="FosError.BadRequest"/>,
/// <see cref="FosError.ServiceError"/>), which are final.
/// </summary>
public delegate Task<long> DirectoryForwarder(ushort leader, IDirectoryRequest request, CancellationToken cancel);
