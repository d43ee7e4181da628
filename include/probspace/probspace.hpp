#pragma once
// Umbrella header: the whole public API.
#include <probspace/core/error.hpp>
#include <probspace/core/stable.hpp>
#include <probspace/core/types.hpp>
#include <probspace/simplex/batched.hpp>
#include <probspace/simplex/entmax.hpp>
#include <probspace/simplex/jacobian.hpp>
#include <probspace/simplex/kkt.hpp>
#include <probspace/simplex/losses.hpp>
#include <probspace/simplex/projection.hpp>
#include <probspace/simplex/softmax.hpp>
#include <probspace/simplex/sparsemax.hpp>
#include <probspace/simplex/threshold.hpp>
