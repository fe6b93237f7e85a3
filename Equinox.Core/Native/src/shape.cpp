// Shape manipulation, joining and splitting, slicing and indexing.
#include "shim.h"

EQX_TENSOR_OP(eqx_reshape(TH a, const int64_t* shape, int32_t ndim), a->reshape(eqx::dims(shape, ndim)))
EQX_TENSOR_OP(eqx_view(TH a, const int64_t* shape, int32_t ndim), a->view(eqx::dims(shape, ndim)))
EQX_TENSOR_OP(eqx_flatten(TH a, int64_t start, int64_t end), a->flatten(start, end))
EQX_TENSOR_OP(eqx_transpose(TH a, int64_t dim0, int64_t dim1), a->transpose(dim0, dim1))
EQX_TENSOR_OP(eqx_permute(TH a, const int64_t* order, int32_t ndim), a->permute(eqx::dims(order, ndim)))
EQX_TENSOR_OP(eqx_squeeze(TH a, int64_t dim, int32_t has_dim), has_dim ? a->squeeze(dim) : a->squeeze())
EQX_TENSOR_OP(eqx_unsqueeze(TH a, int64_t dim), a->unsqueeze(dim))
EQX_TENSOR_OP(eqx_expand(TH a, const int64_t* shape, int32_t ndim), a->expand(eqx::dims(shape, ndim)))
EQX_TENSOR_OP(eqx_broadcast_to(TH a, const int64_t* shape, int32_t ndim), at::broadcast_to(*a, eqx::dims(shape, ndim)))
EQX_TENSOR_OP(eqx_flip(TH a, const int64_t* dims, int32_t ndims), a->flip(eqx::dims(dims, ndims)))
EQX_TENSOR_OP(eqx_repeat(TH a, const int64_t* repeats, int32_t ndims), a->repeat(eqx::dims(repeats, ndims)))

EQX_TENSOR_OP(eqx_cat(const TH* parts, int32_t count, int64_t dim), at::cat(eqx::tensors(parts, count), dim))
EQX_TENSOR_OP(eqx_stack(const TH* parts, int32_t count, int64_t dim), at::stack(eqx::tensors(parts, count), dim))

// Splits write their pieces into `out` (room for `capacity`) and return how many, or -1 on failure.
EQX_API int32_t eqx_split(TH a, int64_t size, int64_t dim, TH* out, int32_t capacity) {
  EQX_TRY return eqx::write_list(a->split(size, dim), out, capacity);
  EQX_CATCH(-1)
}
EQX_API int32_t eqx_split_sizes(TH a, const int64_t* sizes, int32_t count, int64_t dim, TH* out, int32_t capacity) {
  EQX_TRY return eqx::write_list(a->split_with_sizes(eqx::dims(sizes, count), dim), out, capacity);
  EQX_CATCH(-1)
}
EQX_API int32_t eqx_chunk(TH a, int64_t chunks, int64_t dim, TH* out, int32_t capacity) {
  EQX_TRY return eqx::write_list(a->chunk(chunks, dim), out, capacity);
  EQX_CATCH(-1)
}

// A checked select: ATen wraps negative indices itself, but we want the message to name the bound that was broken.
static at::Tensor checked_select(const at::Tensor& a, int64_t dim, int64_t index) {
  int64_t ndim = a.dim();
  if (ndim == 0) throw std::out_of_range("cannot index a 0-dimensional tensor");
  int64_t d = dim < 0 ? dim + ndim : dim;
  if (d < 0 || d >= ndim) throw std::out_of_range("dimension " + std::to_string(dim) + " is out of range for a " +
                                                  std::to_string(ndim) + "-dimensional tensor");
  int64_t size = a.size(d);
  if (index < -size || index >= size)
    throw std::out_of_range("index " + std::to_string(index) + " is out of range for dimension " + std::to_string(d) +
                            " of size " + std::to_string(size));
  return a.select(d, index);
}

EQX_TENSOR_OP(eqx_select(TH a, int64_t dim, int64_t index), checked_select(*a, dim, index))
EQX_TENSOR_OP(eqx_slice(TH a, int64_t dim, int64_t start, int32_t has_start, int64_t end, int32_t has_end, int64_t step),
              a->slice(dim, has_start ? c10::optional<int64_t>(start) : c10::nullopt,
                       has_end ? c10::optional<int64_t>(end) : c10::nullopt, step))
EQX_TENSOR_OP(eqx_narrow(TH a, int64_t dim, int64_t start, int64_t length), a->narrow(dim, start, length))

// Advanced indexing: one optional index tensor per leading dimension (null = take the whole dimension).
static at::Tensor index_with(const at::Tensor& a, const TH* indices, int32_t count) {
  c10::List<c10::optional<at::Tensor>> list;
  list.reserve(count);
  for (int32_t i = 0; i < count; i++) list.push_back(indices[i] ? c10::optional<at::Tensor>(*indices[i]) : c10::nullopt);
  return at::index(a, list);
}
EQX_TENSOR_OP(eqx_index(TH a, const TH* indices, int32_t count), index_with(*a, indices, count))
EQX_TENSOR_OP(eqx_gather(TH a, int64_t dim, TH index), at::gather(*a, dim, *index))
EQX_TENSOR_OP(eqx_index_select(TH a, int64_t dim, TH index), at::index_select(*a, dim, *index))
EQX_TENSOR_OP(eqx_masked_fill(TH a, TH mask, double value), a->masked_fill(*mask, value))
EQX_TENSOR_OP(eqx_one_hot(TH a, int64_t classes), at::one_hot(*a, classes))
EQX_TENSOR_OP(eqx_tril(TH a, int64_t diagonal), a->tril(diagonal))
EQX_TENSOR_OP(eqx_triu(TH a, int64_t diagonal), a->triu(diagonal))
