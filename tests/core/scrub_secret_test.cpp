// scrub_secret: a key is scrubbed before the message is cut (a key straddling the cut used to
// survive in part), a trailing piece of a key is dropped, short keys only as whole tokens.
#include "keel/core/scrub_secret.h"

#include <string>

#include <gtest/gtest.h>

namespace keel {
namespace {

const std::string kKey = "sk-live-0123456789abcdefghij";  // 28 bytes

TEST(ScrubSecret, AKeyStraddlingTheCutIsScrubbedWhole) {
  const std::string message = std::string(190, 'x') + kKey + " was refused";
  const std::string out = scrub_secret(message, Secret{kKey}, 200);
  EXPECT_EQ(out, std::string(190, 'x') + "[redacted]");
  EXPECT_EQ(out.find("sk-live"), std::string::npos);
}

TEST(ScrubSecret, ACutThatSplitsTheRedactionLeavesNoKeyByte) {
  const std::string message = std::string(195, 'x') + kKey;
  const std::string out = scrub_secret(message, Secret{kKey}, 200);
  EXPECT_EQ(out, std::string(195, 'x') + "[reda");
}

TEST(ScrubSecret, ATrailingPieceOfTheKeyIsDropped) {
  // The sender cut its own message inside the key: nothing to replace, a prefix to drop.
  const std::string message = "Incorrect API key provided: " + kKey.substr(0, 15);
  EXPECT_EQ(scrub_secret(message, Secret{kKey}, 200), "Incorrect API key provided: ");
  // A piece shorter than kMinSecretFragment tells nothing ("sk-" is public) and is kept.
  EXPECT_EQ(scrub_secret("use your sk-", Secret{kKey}, 200), "use your sk-");
}

TEST(ScrubSecret, EveryOccurrenceIsReplacedAndTheTextAroundKept) {
  EXPECT_EQ(scrub_secret("a " + kKey + " b " + kKey + kKey, Secret{kKey}), "a [redacted] b [redacted][redacted]");
  EXPECT_EQ(scrub_secret("no key here", Secret{kKey}), "no key here");
  EXPECT_EQ(scrub_secret("anything", Secret{}, 3), "any");
}

TEST(ScrubSecret, AShortKeyIsScrubbedOnlyAsAWholeToken) {
  // A one-character key must not erase that character from every message.
  EXPECT_EQ(scrub_secret("a cat ate a banana", Secret{"a"}), "[redacted] cat ate [redacted] banana");
  EXPECT_EQ(scrub_secret("key=abc123, abc1234", Secret{"abc123"}), "key=[redacted], abc1234");
  // From kMinScrubbedSecret bytes on, anywhere (a key glued to other text is still a key).
  EXPECT_EQ(scrub_secret("xx12345678yy", Secret{"12345678"}), "xx[redacted]yy");
}

TEST(ScrubSecret, TheCutNeverSplitsAUtf8Character) {
  const std::string message = std::string(199, 'x') + "\xC3\xA9tait";  // 'é' at bytes 199-200
  EXPECT_EQ(scrub_secret(message, Secret{}, 200), std::string(199, 'x'));
}

}  // namespace
}  // namespace keel
