using Equinox.Checkpoints;
using Equinox.Tensors;
using Equinox.Tensors.Interop;

namespace Equinox;

// Saving and loading a tree's leaves as safetensors, keyed by PyTorch state_dict names (layers.0.weight).
public static partial class Eqx
{
    /// <summary>
    /// Writes every tensor of <paramref name="tree"/> to <paramref name="path"/> as safetensors, named by its
    /// <see cref="TreePath.StateDictKey"/> (<c>layers.0.weight</c>, as PyTorch's <c>state_dict</c>), with optional
    /// string <paramref name="metadata"/>. The write is atomic: the file is written beside the target under a temporary
    /// name, flushed to disk, then renamed over it, so a crash leaves the previous checkpoint (or none), never half of
    /// one. Null slots (holes) are not written.
    /// </summary>
    /// <exception cref="NotSupportedException">A leaf has a dtype safetensors cannot hold (complex).</exception>
    /// <exception cref="ArgumentException">Two leaves have the same state_dict name.</exception>
    public static void SaveLeaves<T>(string path, T tree, IReadOnlyDictionary<string, string>? metadata = null) where T : ITreeNode
    {
        ArgumentNullException.ThrowIfNull(tree);
        SaveLeaves(path, [("", tree)], metadata);
    }

    /// <summary>
    /// Writes several trees to one checkpoint, each tensor's name prefixed by its tree's prefix (a model, its optimiser
    /// state and a State: <c>[("model.", model), ("opt.", optState)]</c>); load each with
    /// <see cref="LoadLeaves{T}(string, T, bool, Func{string, string}?, bool, Device?, string)"/> and its prefix. Atomic
    /// as <see cref="SaveLeaves{T}"/>.
    /// </summary>
    /// <exception cref="NotSupportedException">A leaf has a dtype safetensors cannot hold (complex).</exception>
    /// <exception cref="ArgumentException">Two leaves get the same name.</exception>
    public static void SaveLeaves(string path, IReadOnlyList<(string Prefix, ITreeNode Tree)> trees, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        var (header, tensors) = Layout(trees, metadata);
        var full = Path.GetFullPath(path);
        var directory = Path.GetDirectoryName(full)!;
        var temporary = Path.Combine(directory, $".{Path.GetFileName(full)}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
            {
                WriteCheckpoint(stream, header, tensors);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temporary, full, overwrite: true);
        }
        catch
        {
            try { File.Delete(temporary); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            throw;
        }
    }

    /// <summary>
    /// Writes the trees' tensors as safetensors to <paramref name="stream"/> (at its position; it is not closed), as
    /// <see cref="SaveLeaves(string, IReadOnlyList{ValueTuple{string, ITreeNode}}, IReadOnlyDictionary{string, string}?)"/>
    /// does to a file, but not atomically: the stream is the caller's.
    /// </summary>
    /// <exception cref="NotSupportedException">A leaf has a dtype safetensors cannot hold (complex).</exception>
    /// <exception cref="ArgumentException">Two leaves get the same name.</exception>
    public static void SaveLeaves(Stream stream, IReadOnlyList<(string Prefix, ITreeNode Tree)> trees, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        var (header, tensors) = Layout(trees, metadata);
        WriteCheckpoint(stream, header, tensors);
        stream.Flush();
    }

    // The header and the tensors in file order; every check that can fail happens here, before anything is written.
    private static (byte[] Header, List<Tensor> Tensors) Layout(IReadOnlyList<(string Prefix, ITreeNode Tree)> trees,
        IReadOnlyDictionary<string, string>? metadata)
    {
        ArgumentNullException.ThrowIfNull(trees);
        if (metadata?.ContainsKey("") == true) throw new ArgumentException("metadata keys must not be empty.", nameof(metadata));
        var entries = new List<SafeTensorsEntry>();
        var tensors = new List<Tensor>();
        var seen = new Dictionary<string, string>(StringComparer.Ordinal);
        long offset = 0;
        foreach (var (prefix, tree) in trees)
        {
            ArgumentNullException.ThrowIfNull(tree, nameof(trees));
            foreach (var (treePath, leaf) in LeavesWithPaths(tree))
            {
                if (leaf is null) continue;
                var name = (prefix ?? "") + treePath.StateDictKey;
                var where = $"{prefix}{treePath}";
                if (!seen.TryAdd(name, where))
                    throw new ArgumentException($"SaveLeaves: the leaves at {seen[name]} and {where} both have the name '{name}'.", nameof(trees));
                long bytes = leaf.NumberOfElements * leaf.DType.ElementSize();
                entries.Add(new SafeTensorsEntry(name, leaf.DType, leaf.Shape.ToArray(), offset, offset + bytes));
                tensors.Add(leaf);
                offset += bytes;
            }
        }
        return (SafeTensorsHeader.Write(entries, metadata), tensors);
    }

    private static unsafe void WriteCheckpoint(Stream stream, byte[] header, List<Tensor> tensors)
    {
        stream.Write(header);
        var buffer = new byte[1 << 20];
        foreach (var leaf in tensors)
        {
            long bytes = leaf.NumberOfElements * leaf.DType.ElementSize();
            if (bytes == 0) continue;
            // One copy out of the native buffer (LibTorch makes it contiguous and moves it to the CPU).
            if (bytes > buffer.Length) buffer = new byte[bytes <= Array.MaxLength ? bytes : throw new NotSupportedException(
                $"SaveLeaves: a leaf of {bytes} bytes is larger than one managed buffer; split it.")];
            fixed (byte* p = buffer)
                Tensor.Check(NativeMethods.eqx_copy_to_host(leaf, p, bytes), "SaveLeaves", leaf);
            stream.Write(buffer, 0, (int)bytes);
        }
    }

    /// <summary>
    /// Every tensor in the safetensors file at <paramref name="path"/> by name, as <c>safetensors.torch.load_file</c>:
    /// for weights laid out differently from any tree (split or joined before building a layer, e.g.
    /// <c>MultiheadAttention.FromTorch</c>). Validated as <see cref="LoadLeaves{T}(string, T, bool, Func{string, string}?, bool, Device?, string)"/>.
    /// </summary>
    /// <exception cref="CheckpointException">The file is not a valid safetensors file.</exception>
    public static unsafe IReadOnlyDictionary<string, Tensor> LoadTensors(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        var (entries, _, dataStart) = SafeTensorsHeader.Read(stream, stream.Length, path);
        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        bool addedReference = false;
        try
        {
            stream.SafeFileHandle.DangerousAddRef(ref addedReference);
            int fd = (int)stream.SafeFileHandle.DangerousGetHandle();
            foreach (var entry in entries)
            {
                var shape = entry.Shape;
                fixed (long* s = shape)
                    result[entry.Name] = entry.End == entry.Begin
                        ? Tensor.Zeros(shape, entry.DType)
                        : Tensor.Wrap(NativeMethods.eqx_from_fd(fd, dataStart + entry.Begin, s, shape.Length, (int)entry.DType), "LoadTensors", entry.DType);
            }
        }
        catch
        {
            foreach (var t in result.Values) t.Dispose();
            throw;
        }
        finally
        {
            if (addedReference) stream.SafeFileHandle.DangerousRelease();
        }
        return result;
    }

    /// <summary>The string metadata stored in the safetensors file at <paramref name="path"/> (empty when none).</summary>
    /// <exception cref="CheckpointException">The file is not a valid safetensors file.</exception>
    public static IReadOnlyDictionary<string, string> ReadCheckpointMetadata(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        using var stream = File.OpenRead(path);
        return SafeTensorsHeader.Read(stream, stream.Length, path).Metadata;
    }

    /// <summary>
    /// A tree with the structure and static part of <paramref name="like"/> whose tensors are read from the
    /// safetensors file at <paramref name="path"/>, matched by state_dict name (<c>layers.0.weight</c>). The whole file
    /// is validated before any tensor is allocated; then each tensor is read from the file straight into its native
    /// buffer (no managed copy, no mapping: the peak is the tensors themselves).
    /// </summary>
    /// <param name="path">The checkpoint.</param>
    /// <param name="like">The tree to fill: its tensor slots say which names, shapes and dtypes to expect (its values
    /// are not read). Null slots stay null.</param>
    /// <param name="strict">When true (the default), every slot must be in the file and every tensor in the file must
    /// have a slot. When false, slots missing from the file keep <paramref name="like"/>'s tensor and extra tensors
    /// are ignored (loading part of a model).</param>
    /// <param name="rename">Maps a slot's state_dict name to the name in the file (for files written by models whose
    /// names differ), or null to use it as it is.</param>
    /// <param name="convertDTypes">Converts a tensor whose dtype differs from its slot's instead of refusing it.</param>
    /// <param name="device">Where to put the loaded tensors; by default, the device of the slot in <paramref name="like"/>.</param>
    /// <param name="prefix">Reads only the tensors whose names start with it (one tree of a checkpoint of several),
    /// matching the rest of the name against <paramref name="like"/>'s.</param>
    /// <exception cref="CheckpointException">The file is malformed, or its tensors do not fit <paramref name="like"/>:
    /// one message lists every missing, extra and mismatched name with expected and found shape and dtype.</exception>
    public static T LoadLeaves<T>(string path, T like, bool strict = true, Func<string, string>? rename = null,
        bool convertDTypes = false, Device? device = null, string prefix = "") where T : ITreeNode
    {
        ArgumentNullException.ThrowIfNull(path);
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        return Load(stream, path, like, strict, rename, convertDTypes, device, prefix);
    }

    /// <summary>
    /// <see cref="LoadLeaves{T}(string, T, bool, Func{string, string}?, bool, Device?, string)"/> from a stream holding
    /// one safetensors checkpoint from its current position to its end (a stream that cannot seek is read into memory
    /// first). Tensors pass through one managed buffer on their way to LibTorch.
    /// </summary>
    /// <exception cref="CheckpointException">The data is malformed, or its tensors do not fit <paramref name="like"/>.</exception>
    public static T LoadLeaves<T>(Stream stream, T like, bool strict = true, Func<string, string>? rename = null,
        bool convertDTypes = false, Device? device = null, string prefix = "") where T : ITreeNode
    {
        ArgumentNullException.ThrowIfNull(stream);
        if (stream.CanSeek) return Load(stream, null, like, strict, rename, convertDTypes, device, prefix);
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        copy.Position = 0;
        return Load(copy, null, like, strict, rename, convertDTypes, device, prefix);
    }

    // A file is read with pread straight into each tensor's buffer (file is its path); another stream in order.
    private static unsafe T Load<T>(Stream stream, string? file, T like, bool strict, Func<string, string>? rename,
        bool convertDTypes, Device? device, string prefix) where T : ITreeNode
    {
        ArgumentNullException.ThrowIfNull(like);
        ArgumentNullException.ThrowIfNull(prefix);
        long start = stream.Position;
        long length = stream.Length - start;
        var (entries, _, dataStart) = SafeTensorsHeader.Read(stream, length, file);
        var byName = entries.Where(e => e.Name.StartsWith(prefix, StringComparison.Ordinal)).ToDictionary(e => e.Name, StringComparer.Ordinal);
        var plan = Match(file, like, byName, strict, rename, convertDTypes, prefix);

        var leaves = Flatten(like);
        var slotOf = new Dictionary<SafeTensorsEntry, int>(ReferenceEqualityComparer.Instance);
        for (int i = 0; i < plan.Length; i++) if (plan[i] is { } e) slotOf[e] = i;
        var loaded = new List<Tensor>();
        var handle = file is not null ? ((FileStream)stream).SafeFileHandle : null;
        bool addedReference = false;
        try
        {
            handle?.DangerousAddRef(ref addedReference);
            int fd = handle is null ? -1 : (int)handle.DangerousGetHandle();
            byte[] buffer = [];
            // Entries are in data order, so a plain stream is read front to back.
            foreach (var entry in entries)
            {
                long bytes = entry.End - entry.Begin;
                if (!slotOf.TryGetValue(entry, out int i))
                {
                    if (fd < 0) stream.Seek(bytes, SeekOrigin.Current);
                    continue;
                }
                var slot = leaves[i]!;
                var shape = entry.Shape;
                Tensor tensor;
                if (bytes == 0) tensor = Tensor.Zeros(shape, entry.DType);
                else if (fd >= 0)
                {
                    fixed (long* s = shape)
                        tensor = Tensor.Wrap(NativeMethods.eqx_from_fd(fd, start + dataStart + entry.Begin, s, shape.Length, (int)entry.DType), "LoadLeaves", entry.DType);
                }
                else
                {
                    if (buffer.Length < bytes) buffer = new byte[bytes <= Array.MaxLength ? bytes
                        : throw new CheckpointException(file, $"entry '{entry.Name}' is {bytes} bytes, more than one buffer holds; load it from a file.")];
                    stream.ReadExactly(buffer, 0, (int)bytes);
                    fixed (byte* source = buffer)
                    fixed (long* s = shape)
                        tensor = Tensor.Wrap(NativeMethods.eqx_from_data(source, s, shape.Length, (int)entry.DType), "LoadLeaves", entry.DType);
                }
                loaded.Add(tensor);
                if (tensor.DType != slot.DType)
                {
                    tensor = tensor.To(slot.DType);
                    loaded.Add(tensor);
                }
                var target = device ?? slot.Device;
                if (tensor.Device != target)
                {
                    tensor = tensor.To(target);
                    loaded.Add(tensor);
                }
                leaves[i] = tensor;
            }
        }
        catch
        {
            foreach (var t in loaded) t.Dispose();
            throw;
        }
        finally
        {
            if (addedReference) handle!.DangerousRelease();
        }
        // Intermediates of a conversion or a move go now; the loaded leaves stay.
        var kept = new HashSet<Tensor>(leaves.OfType<Tensor>(), ReferenceEqualityComparer.Instance);
        foreach (var t in loaded) if (!kept.Contains(t)) t.Dispose();
        return Unflatten(like, leaves);
    }

    // Which entry fills each slot of like; throws one message naming every missing, extra and mismatched name.
    private static SafeTensorsEntry?[] Match<T>(string? file, T like, Dictionary<string, SafeTensorsEntry> byName, bool strict,
        Func<string, string>? rename, bool convertDTypes, string prefix) where T : ITreeNode
    {
        var slots = LeavesWithPaths(like);
        var plan = new SafeTensorsEntry?[slots.Count];
        var used = new HashSet<string>(StringComparer.Ordinal);
        var missing = new List<string>();
        var mismatched = new List<string>();
        for (int i = 0; i < slots.Count; i++)
        {
            var (treePath, slot) = slots[i];
            if (slot is null) continue;
            var key = treePath.StateDictKey;
            var name = prefix + (rename?.Invoke(key) ?? key);
            if (!byName.TryGetValue(name, out var entry))
            {
                if (strict) missing.Add($"{Shown(key, name)} ({slot.Describe()})");
                continue;
            }
            used.Add(name);
            bool shapeFits = slot.Shape.ToArray().AsSpan().SequenceEqual(entry.Shape);
            if (!shapeFits || (entry.DType != slot.DType && !convertDTypes))
                mismatched.Add($"{Shown(key, name)}: expected {slot.DType.ShortName()}[{string.Join(",", slot.Shape.ToArray())}], " +
                               $"found {entry.DType.ShortName()}[{string.Join(",", entry.Shape)}]");
            plan[i] = entry;
        }
        var extra = strict ? byName.Values.Where(e => !used.Contains(e.Name)).Select(e => $"{e.Name} ({e.DType.ShortName()}[{string.Join(",", e.Shape)}])").ToList() : [];
        if (missing.Count + mismatched.Count + extra.Count > 0)
        {
            var parts = new List<string>();
            if (missing.Count > 0) parts.Add($"missing from the file: {string.Join(", ", missing)}");
            if (extra.Count > 0) parts.Add($"in the file but not in the tree: {string.Join(", ", extra)}");
            if (mismatched.Count > 0) parts.Add($"mismatched: {string.Join("; ", mismatched)}");
            var hint = !strict ? "" : extra.Count > 0 || missing.Count > 0
                ? " To load only the names both have, pass strict: false; to map names, pass rename."
                : "";
            throw new CheckpointException(file, $"the checkpoint does not fit {like.GetType().Name}: {string.Join(". ", parts)}.{hint}");
        }
        return plan;
    }

    private static string Shown(string key, string name) => key == name ? key : $"{key} (as '{name}')";
}
