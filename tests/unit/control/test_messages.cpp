// Placeholder while the control tests are written.
#include <gtest/gtest.h>

#include "twamp/control/messages.hpp"

TEST(control_messages, sizes) {
    EXPECT_EQ(twamp::control::request_tw_session_size, 112U);
}
