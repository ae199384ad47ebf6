// Unit tests for util::Buffer: cursors, growth, small storage, and the per-thread free
// list of blocks (reuse without allocation, its cap). Single-threaded.
#include "pgmux/util/buffer.hpp"

#include <gtest/gtest.h>

#include <array>
#include <memory>
#include <string>
#include <vector>

#include "../alloc_counter.hpp"

namespace pgmux::util {
namespace {

// Holds every block of this thread's free list (left by earlier tests) while it lives,
// so that a test starts with an empty list.
class DrainedFreeList {
 public:
  DrainedFreeList() {
    while (Buffer::free_blocks_kept() > 0) {
      held_.push_back(std::make_unique<Buffer>());
      held_.back()->write_area();
    }
  }

 private:
  std::vector<std::unique_ptr<Buffer>> held_;
};

TEST(BufferTest, AppendConsumeAndReadable) {
  Buffer b;
  EXPECT_TRUE(b.empty());
  b.append("hello ");
  b.append("world");
  EXPECT_EQ(b.readable(), "hello world");
  b.consume(6);
  EXPECT_EQ(b.readable(), "world");
  EXPECT_EQ(b.size(), 5u);
  b.consume(5);
  EXPECT_TRUE(b.empty());
}

TEST(BufferTest, CommitMakesWrittenBytesReadable) {
  Buffer b;
  char* area = b.write_area(3);
  ASSERT_GE(b.writable(), 3u);
  std::memcpy(area, "abc", 3);
  b.commit(3);
  EXPECT_EQ(b.readable(), "abc");
}

TEST(BufferTest, DefaultBlockHasDefaultCapacity) {
  Buffer b;
  b.write_area();
  EXPECT_TRUE(b.holds_block());
  EXPECT_EQ(b.capacity(), Buffer::kDefaultCapacity);
}

TEST(BufferTest, GrowsBeyondDefaultCapacityKeepingData) {
  Buffer b;
  std::string big(Buffer::kDefaultCapacity + 100, 'x');
  b.append("head");
  b.append(big);
  EXPECT_GE(b.capacity(), big.size() + 4);
  EXPECT_EQ(b.readable(), "head" + big);
}

TEST(BufferTest, CompactsInsteadOfGrowing) {
  Buffer b;
  b.append(std::string(Buffer::kDefaultCapacity - 10, 'a'));
  b.consume(Buffer::kDefaultCapacity - 20);  // 10 bytes left, near the end
  b.write_area(100);
  EXPECT_EQ(b.capacity(), Buffer::kDefaultCapacity);
  EXPECT_EQ(b.readable(), std::string(10, 'a'));
}

TEST(BufferTest, ReleaseKeepsBufferedBytes) {
  Buffer b;
  b.append("pending");
  b.release();
  EXPECT_TRUE(b.holds_block());
  EXPECT_EQ(b.readable(), "pending");
}

TEST(BufferTest, ReleaseGivesTheBlockToTheFreeList) {
  DrainedFreeList drained;
  Buffer b;
  b.append("x");
  b.consume(1);
  b.release();
  EXPECT_FALSE(b.holds_block());
  EXPECT_EQ(b.capacity(), 0u);
  EXPECT_EQ(Buffer::free_blocks_kept(), 1u);
}

TEST(BufferTest, BlockFromFreeListCostsNoAllocation) {
  DrainedFreeList drained;
  Buffer b;
  b.write_area();
  b.release();
  ASSERT_EQ(Buffer::free_blocks_kept(), 1u);
  size_t before = g_allocations;
  b.append("again");
  EXPECT_EQ(g_allocations, before);
  EXPECT_EQ(Buffer::free_blocks_kept(), 0u);
}

TEST(BufferTest, FreeListIsCapped) {
  DrainedFreeList drained;
  std::vector<std::unique_ptr<Buffer>> buffers;
  for (size_t i = 0; i < Buffer::kMaxFreeBlocks + 10; ++i) {
    buffers.push_back(std::make_unique<Buffer>());
    buffers.back()->write_area();
  }
  for (auto& b : buffers) b->release();
  EXPECT_EQ(Buffer::free_blocks_kept(), Buffer::kMaxFreeBlocks);
}

TEST(BufferTest, LargerBlocksAreNotKept) {
  DrainedFreeList drained;
  Buffer b;
  b.write_area(Buffer::kDefaultCapacity * 2);
  b.release();
  EXPECT_EQ(Buffer::free_blocks_kept(), 0u);
}

TEST(BufferTest, SmallStorageTakesNoBlock) {
  std::array<char, 64> small;
  Buffer b;
  b.use_small_storage(small.data(), small.size());
  size_t before = g_allocations;
  char* area = b.write_area(10);
  EXPECT_EQ(area, small.data());
  EXPECT_EQ(b.writable(), small.size());
  b.append("startup");
  EXPECT_EQ(b.readable(), "startup");
  EXPECT_FALSE(b.holds_block());
  EXPECT_EQ(g_allocations, before);
}

TEST(BufferTest, SmallStorageCompactsBeforeTakingABlock) {
  std::array<char, 64> small;
  Buffer b;
  b.use_small_storage(small.data(), small.size());
  b.append(std::string(60, 'a'));
  b.consume(50);
  b.write_area(40);  // 10 left + 40 fit once moved to the front
  EXPECT_FALSE(b.holds_block());
  EXPECT_EQ(b.readable(), std::string(10, 'a'));
}

TEST(BufferTest, OutgrowingSmallStorageMovesDataToADefaultBlock) {
  std::array<char, 64> small;
  Buffer b;
  b.use_small_storage(small.data(), small.size());
  b.append(std::string(60, 'a'));
  b.append(std::string(10, 'b'));
  EXPECT_TRUE(b.holds_block());
  EXPECT_EQ(b.capacity(), Buffer::kDefaultCapacity);
  EXPECT_EQ(b.readable(), std::string(60, 'a') + std::string(10, 'b'));
}

TEST(BufferTest, ReleaseGoesBackToSmallStorage) {
  DrainedFreeList drained;
  std::array<char, 64> small;
  Buffer b;
  b.use_small_storage(small.data(), small.size());
  b.write_area(Buffer::kDefaultCapacity);
  ASSERT_TRUE(b.holds_block());
  b.release();
  EXPECT_FALSE(b.holds_block());
  EXPECT_EQ(b.capacity(), small.size());
  EXPECT_EQ(b.write_area(), small.data());
  EXPECT_EQ(Buffer::free_blocks_kept(), 1u);
}

}  // namespace
}  // namespace pgmux::util
